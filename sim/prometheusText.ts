// Reading Prometheus text exposition: the sum of every series of one sample name, whatever its labels
// (vLLM labels each series with model_name and engine, and request counters also with finished_reason).

/** The sum over all series of `sample` (e.g. `vllm:nixl_bytes_transferred_count`), or null when none is exported. */
export function sampleSum(text: string, sample: string): number | null {
  let sum: number | null = null;
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const m = line.match(/^([^\s{]+)(\{.*\})?\s+(\S+)/);
    if (!m || m[1] !== sample) continue;
    const value = Number(m[3]);
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}
