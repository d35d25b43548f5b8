// A child process of the fan-out bench: opens many ADS streams (each its own connection and node id, like an
// Envoy), subscribes to clusters, endpoints, listeners and routes, and ACKs every response.
// argv: <port> <protocol sotw|delta> <first node index> <count> <group> <json: {eds: string[], rds: string[]}>

import { credentials } from '@grpc/grpc-js';
import { AggregatedDiscoveryServiceClient } from '../../generated/envoy/service/discovery/v3/ads';
import {
  DeltaDiscoveryRequest,
  DiscoveryRequest,
} from '../../generated/envoy/service/discovery/v3/discovery';

const [portText, protocol, firstText, countText, group, namesJson] = process.argv.slice(2);
const names = JSON.parse(namesJson) as { eds: string[]; rds: string[] };
const T = 'type.googleapis.com/envoy.config.';
const subscriptions: [string, string[]][] = [
  [`${T}cluster.v3.Cluster`, []],
  [`${T}endpoint.v3.ClusterLoadAssignment`, names.eds],
  [`${T}listener.v3.Listener`, []],
  [`${T}route.v3.RouteConfiguration`, names.rds],
];

let ready = 0;
const clients: AggregatedDiscoveryServiceClient[] = [];

function open(index: number): void {
  const client = new AggregatedDiscoveryServiceClient(`127.0.0.1:${portText}`, credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
  clients.push(client);
  const node = { id: `bench-${protocol}-${index}`, cluster: group };
  const seen = new Set<string>();
  const onResponse = (typeUrl: string) => {
    if (seen.has(typeUrl)) return;
    seen.add(typeUrl);
    if (seen.size === subscriptions.length && ++ready === Number(countText)) process.send?.({ ready });
  };
  if (protocol === 'delta') {
    const call = client.deltaAggregatedResources();
    call.on('data', (r) => {
      call.write(DeltaDiscoveryRequest.fromPartial({ typeUrl: r.typeUrl, responseNonce: r.nonce }));
      onResponse(r.typeUrl);
    });
    call.on('error', () => undefined);
    subscriptions.forEach(([typeUrl, resourceNamesSubscribe], i) =>
      call.write(
        DeltaDiscoveryRequest.fromPartial({
          node: i === 0 ? node : undefined,
          typeUrl,
          resourceNamesSubscribe,
        }),
      ),
    );
  } else {
    const call = client.streamAggregatedResources();
    const namesOf = new Map(subscriptions);
    call.on('data', (r) => {
      call.write(
        DiscoveryRequest.fromPartial({
          typeUrl: r.typeUrl,
          versionInfo: r.versionInfo,
          responseNonce: r.nonce,
          resourceNames: namesOf.get(r.typeUrl) ?? [],
        }),
      );
      onResponse(r.typeUrl);
    });
    call.on('error', () => undefined);
    subscriptions.forEach(([typeUrl, resourceNames], i) =>
      call.write(DiscoveryRequest.fromPartial({ node: i === 0 ? node : undefined, typeUrl, resourceNames })),
    );
  }
}

const first = Number(firstText);
for (let i = 0; i < Number(countText); i++) open(first + i);
process.on('disconnect', () => process.exit(0));
