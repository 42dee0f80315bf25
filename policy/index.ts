// The gaudi-pd-guard policy pack: `pulumi preview --policy-pack policy` runs it against a gaudi-pd stack.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("gaudi-pd-guard", { policies });
