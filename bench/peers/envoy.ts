// bench/peers: the one data path every EPP is measured on — a stock Envoy bootstrap written the way the Gateway API
// Inference Extension configured Envoy for its reference EPP (ext_proc with FULL_DUPLEX_STREAMED bodies, an
// ORIGINAL_DST cluster routed by the x-gateway-destination-endpoint header the EPP sets, one EPP connection: no
// max_requests_per_connection), except that the EPP is reached over h2c instead of TLS, so the three EPPs serve the
// same transport. A second route (header x-bench-route: direct) goes round robin to the same pods with ext_proc
// disabled: the direct path that EPP-added latency is measured against. Nothing here comes from our compiler. Pure.

export const ROUTE_HEADER = 'x-bench-route';

export interface EnvoyPorts {
  listen: number;
  admin: number;
  /** Where the EPP serves ext_proc (127.0.0.1). */
  epp: number;
}

/** The bootstrap (YAML) for Envoy 1.40 in front of `pods` (ip:port), the EPP on 127.0.0.1:`ports.epp`. */
export function upstreamBootstrap(ports: EnvoyPorts, pods: { ip: string; port: number }[]): string {
  const endpoints = pods
    .map((p) => `        - endpoint: {address: {socket_address: {address: ${p.ip}, port_value: ${p.port}}}}`)
    .join('\n');
  return `admin:
  address: {socket_address: {address: 127.0.0.1, port_value: ${ports.admin}}}
static_resources:
  listeners:
  - name: listener_0
    address: {socket_address: {address: 127.0.0.1, port_value: ${ports.listen}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: http
          codec_type: AUTO
          route_config:
            name: vllm
            virtual_hosts:
            - name: vllm
              domains: ["*"]
              routes:
              - match: {prefix: "/", headers: [{name: ${ROUTE_HEADER}, string_match: {exact: direct}}]}
                route: {cluster: direct, timeout: 300s}
                typed_per_filter_config:
                  envoy.filters.http.ext_proc:
                    "@type": type.googleapis.com/envoy.config.route.v3.FilterConfig
                    disabled: true
              - match: {prefix: "/"}
                route:
                  cluster: original_destination_cluster
                  timeout: 86400s
                  idle_timeout: 86400s
          http_filters:
          - name: envoy.filters.http.ext_proc
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
              grpc_service:
                envoy_grpc: {cluster_name: ext_proc, authority: "epp.default:9002"}
                timeout: 10s
              processing_mode:
                request_header_mode: SEND
                response_header_mode: SEND
                request_body_mode: FULL_DUPLEX_STREAMED
                response_body_mode: FULL_DUPLEX_STREAMED
                request_trailer_mode: SEND
                response_trailer_mode: SEND
              message_timeout: 1000s
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: original_destination_cluster
    type: ORIGINAL_DST
    lb_policy: CLUSTER_PROVIDED
    connect_timeout: 1000s
    original_dst_lb_config:
      use_http_header: true
      http_header_name: x-gateway-destination-endpoint
    circuit_breakers:
      thresholds: [{max_connections: 40000, max_pending_requests: 40000, max_requests: 40000}]
  - name: direct
    type: STATIC
    lb_policy: ROUND_ROBIN
    connect_timeout: 10s
    circuit_breakers:
      thresholds: [{max_connections: 40000, max_pending_requests: 40000, max_requests: 40000}]
    load_assignment:
      cluster_name: direct
      endpoints:
      - lb_endpoints:
${endpoints}
  - name: ext_proc
    type: STATIC
    lb_policy: LEAST_REQUEST
    connect_timeout: 10s
    circuit_breakers:
      thresholds: [{max_connections: 40000, max_pending_requests: 40000, max_requests: 40000, max_retries: 1024}]
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config:
          http2_protocol_options: {initial_stream_window_size: 65536, initial_connection_window_size: 1048576}
    load_assignment:
      cluster_name: ext_proc
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: ${ports.epp}}}}
`;
}
