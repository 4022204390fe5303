// The part of autocannon's API bench/load.ts uses (@types/autocannon is not installed).
// https://github.com/mcollina/autocannon#api
declare module 'autocannon' {
  interface RawRequest { method?: string, path?: string, body?: string, headers?: Record<string, string> }
  interface Options {
    url: string
    connections?: number
    duration?: number
    /** Send this many requests, then stop (instead of duration). */
    amount?: number
    requests?: Array<RawRequest & { setupRequest?: (request: RawRequest) => RawRequest }>
  }
  interface Histogram { average: number, total: number, p50: number, p99: number }
  interface Result {
    requests: Histogram
    latency: Histogram
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    '2xx': number
  }
  function autocannon (options: Options): Promise<Result>
  export default autocannon
}
