// Which Gaudi a machine type carries: one table for the topology's defaults, GaudiNodes, PdCluster's warning and the
// policies (docs/architecture.md#gaudi-generations).

export interface GaudiMachine {
  /** Gaudi generation of its accelerators: vllm-gaudi supports 2 and 3 only. */
  readonly generation: 1 | 2 | 3;
  /** Accelerator cards (HPUs) per machine. */
  readonly hpus: number;
  /** EFA network interfaces the machine type supports (0 when it has none). */
  readonly efaInterfaces: number;
}

/** AWS instance types with Gaudi accelerators. AWS offers Gaudi only as dl1.24xlarge: first-generation Gaudi, 8 cards,
 *  4 × 100 Gbps EFA. Gaudi 2 and 3 machines (IBM Cloud, Intel Tiber, on premises) are served through `infra.kind: hosts`. */
export const GAUDI_INSTANCE_TYPES: Readonly<Record<string, GaudiMachine>> = {
  "dl1.24xlarge": { generation: 1, hpus: 8, efaInterfaces: 4 },
};

/** What an unknown machine type is assumed to have: the usual 8 cards, and no EFA (none is guessed). */
export const UNKNOWN_MACHINE = { hpus: 8, efaInterfaces: 0 } as const;

export const gaudiMachineOf = (instanceType: string): GaudiMachine | undefined =>
  Object.hasOwn(GAUDI_INSTANCE_TYPES, instanceType) ? GAUDI_INSTANCE_TYPES[instanceType] : undefined;

/** Why a machine type cannot serve vllm-gaudi, or null when it can (or is not in the table). */
export function unsupportedGeneration(instanceType: string): string | null {
  const m = gaudiMachineOf(instanceType);
  if (m?.generation !== 1) return null;
  return (
    `${instanceType} carries first-generation Gaudi, which vllm-gaudi does not support (Gaudi 2 and 3 only), so vLLM will not start on it; ` +
    "AWS offers no Gaudi 2/3 machines: serve on Gaudi 2/3 machines (IBM Cloud, Intel Tiber, on premises) with infra.kind: hosts"
  );
}
