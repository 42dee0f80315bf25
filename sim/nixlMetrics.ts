// vLLM's NIXL connector metrics as a decode instance exports them (vLLM 0.21.0, NixlPromMetrics): four histograms
// and two counters, labelled model_name and engine, recorded where the transfer runs. prometheus_client spells a
// histogram as `_bucket{le=…}`/`_sum`/`_count` and a counter as `_total`.

/** One KV pull: its duration, the time to post it, its size and its descriptor count. */
export interface Transfer {
  readonly seconds: number;
  readonly postSeconds: number;
  readonly bytes: number;
  readonly descriptors: number;
}

const TIME_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 5.0];

interface HistogramSpec {
  readonly name: string;
  readonly help: string;
  readonly buckets: readonly number[];
  readonly value: (t: Transfer) => number;
}

const HISTOGRAMS: readonly HistogramSpec[] = [
  {
    name: "vllm:nixl_xfer_time_seconds",
    help: "Histogram of transfer duration for NIXL KV Cache transfers.",
    buckets: TIME_BUCKETS.slice(1),
    value: (t) => t.seconds,
  },
  {
    name: "vllm:nixl_post_time_seconds",
    help: "Histogram of transfer post time for NIXL KV Cache transfers.",
    buckets: TIME_BUCKETS,
    value: (t) => t.postSeconds,
  },
  {
    name: "vllm:nixl_bytes_transferred",
    help: "Histogram of bytes transferred per NIXL KV Cache transfers.",
    buckets: Array.from({ length: 12 }, (_, i) => 2 ** (11 + 2 * i)),
    value: (t) => t.bytes,
  },
  {
    name: "vllm:nixl_num_descriptors",
    help: "Histogram of number of descriptors per NIXL KV Cache transfers.",
    buckets: [10, 20, 30, 50, 75, 100, 200, 400, 1000, 2000, 4000, 10000, 20000, 50000],
    value: (t) => t.descriptors,
  },
];

/** The NIXL series of one engine: transfers observed and failures counted. */
export class NixlMetrics {
  private readonly transfers: Transfer[] = [];
  failedTransfers = 0;
  failedNotifications = 0;

  observe(t: Transfer): void {
    this.transfers.push(t);
  }

  /** The Prometheus text of every NIXL series, with `labels` (`model_name="…",engine="…"`). */
  exposition(labels: string): string {
    const lines: string[] = [];
    for (const h of HISTOGRAMS) {
      const values = this.transfers.map(h.value);
      lines.push(`# HELP ${h.name} ${h.help}`, `# TYPE ${h.name} histogram`);
      for (const le of h.buckets)
        lines.push(`${h.name}_bucket{${labels},le="${Number.isInteger(le) ? `${le}.0` : le}"} ${values.filter((v) => v <= le).length}`);
      lines.push(`${h.name}_bucket{${labels},le="+Inf"} ${values.length}`);
      lines.push(`${h.name}_count{${labels}} ${values.length}`, `${h.name}_sum{${labels}} ${values.reduce((a, b) => a + b, 0)}`);
    }
    const counters: [string, string, number][] = [
      ["vllm:nixl_num_failed_transfers", "Number of failed NIXL KV Cache transfers.", this.failedTransfers],
      ["vllm:nixl_num_failed_notifications", "Number of failed NIXL KV Cache notifications.", this.failedNotifications],
    ];
    for (const [name, help, value] of counters)
      lines.push(`# HELP ${name}_total ${help}`, `# TYPE ${name}_total counter`, `${name}_total{${labels}} ${value}`);
    return `${lines.join("\n")}\n`;
  }
}
