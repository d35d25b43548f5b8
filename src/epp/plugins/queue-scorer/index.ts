// queue-scorer: prefers endpoints with shorter waiting queues, min–max normalised over the candidates.
// With addAssignedSinceScrape: true (infergate), the requests this EPP placed after the endpoint's last scrape are
// added to the scraped waiting queue (inflight-load-producer).

import { scrapedLoadScorer } from '../inflight-load-producer';

export const queueScorer = scrapedLoadScorer(
  'queue-scorer',
  'Scores (maxQ − q)/(maxQ − minQ) on waiting queue size; 1.0 when all are equal.',
  (m) => m.waitingQueueSize,
);
