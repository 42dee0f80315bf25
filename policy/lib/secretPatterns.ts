// What a secret looks like in a command text: the kinds gaudi-pd handles (HF token, SSH key) and AWS keys.
// Messages name the kind only, never the matched text, so a report does not leak what it found.
const KINDS: readonly { readonly what: string; readonly pattern: RegExp }[] = [
  { what: "a Hugging Face token", pattern: /\bhf_[A-Za-z0-9]{20,}/ },
  { what: "a private key", pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/ },
  { what: "an AWS access key id", pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/ },
  // A literal value; `HF_TOKEN="$token"` and `case … HF_TOKEN=*)` read the token rather than carry it.
  { what: "an HF_TOKEN assignment with a literal value", pattern: /\b(?:HF_TOKEN|HUGGING_FACE_HUB_TOKEN)=["']?[A-Za-z0-9_-]{8,}/ },
];

/** The kinds of secret `text` appears to carry, in a fixed order, each once. */
export function secretKindsIn(text: string): string[] {
  return KINDS.filter((k) => k.pattern.test(text)).map((k) => k.what);
}
