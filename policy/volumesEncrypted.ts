// Model weights, HF caches and logs live on these volumes: every EBS volume is encrypted at rest.
import { ResourceValidationPolicy } from "@pulumi/policy";
import { elements, read, UNKNOWN } from "./lib/props";
import { T } from "./lib/types";

type Props = Record<string, any>;

const TYPES = new Set<string>([T.instance, T.launchTemplate, T.ebsVolume]);

/** Launch templates spell booleans as strings ("true"). */
const isTrue = (v: unknown) => v === true || v === "true";

/** The paths of volumes in a resource that are not encrypted (unknown values are left for the update). */
function unencrypted(type: string, props: Props): string[] {
  const flag = (path: string, get: () => unknown) => {
    const v = read(get);
    return v === UNKNOWN || isTrue(v) ? [] : [path];
  };
  switch (type) {
    case T.ebsVolume:
      return flag("encrypted", () => props.encrypted);
    case T.instance: {
      const root = read(() => props.rootBlockDevice);
      // Without rootBlockDevice the root volume comes from the launch template's mapping, checked there.
      const templated = root === undefined && read(() => props.launchTemplate) !== undefined;
      return [
        ...(templated ? [] : flag("rootBlockDevice.encrypted", () => props.rootBlockDevice?.encrypted)),
        ...elements<Props>(() => props.ebsBlockDevices).flatMap((d, i) =>
          d === UNKNOWN ? [] : flag(`ebsBlockDevices[${i}].encrypted`, () => d.encrypted),
        ),
      ];
    }
    case T.launchTemplate:
      return elements<Props>(() => props.blockDeviceMappings).flatMap((m, i) =>
        m === UNKNOWN || read(() => m.ebs) === undefined ? [] : flag(`blockDeviceMappings[${i}].ebs.encrypted`, () => m.ebs.encrypted),
      );
    default:
      return [];
  }
}

export const volumesEncrypted: ResourceValidationPolicy = {
  name: "volumes-encrypted",
  description: "Root and data EBS volumes of instances, launch templates and standalone volumes are encrypted.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (!TYPES.has(args.type)) return args.notApplicable("not an instance, launch template or EBS volume");
    for (const path of unencrypted(args.type, args.props))
      reportViolation(`${args.name}: ${path} is not true; set it to true (encrypt the volume at rest)`);
  },
};
