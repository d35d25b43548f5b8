// running-requests-size-scorer: prefers endpoints running fewer requests, min–max normalised over the candidates.
// With addAssignedSinceScrape: true (infergate), the requests this EPP placed after the endpoint's last scrape are
// added to the scraped running count (inflight-load-producer).

import { scrapedLoadScorer } from '../inflight-load-producer';

export const runningRequestsSizeScorer = scrapedLoadScorer(
  'running-requests-size-scorer',
  'Scores (maxR − r)/(maxR − minR) on running requests; 1.0 when all are equal.',
  (m) => m.runningRequestsSize,
);
