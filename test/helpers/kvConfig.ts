// A valid NIXL kv-transfer-config for the stand-in's tests, with fields overridden per case.

/** `--kv-transfer-config` JSON: a CPU-buffered UCX producer unless `fields` says otherwise. */
export const kvConfig = (fields: Record<string, unknown>): string =>
  JSON.stringify({
    kv_connector: "NixlConnector",
    kv_role: "kv_producer",
    kv_buffer_device: "cpu",
    kv_connector_extra_config: { backends: ["UCX"] },
    ...fields,
  });
