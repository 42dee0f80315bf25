// A stand-in for the Hugging Face Hub's download API (HF_ENDPOINT), serving model repositories held in memory, so the
// real huggingface_hub client (`hf download`) runs offline. What huggingface_hub 2.x asks for, and nothing more:
//   GET  /api/models/<id>/revision/<rev>        repo info: {id, sha, siblings}
//   GET  /api/models/<id>/tree/<rev>[/<path>]   the file list: [{type: "file", path, size, oid}]
//   HEAD /<id>/resolve/<rev>/<file>             X-Repo-Commit, ETag (the blob id), Content-Length
//   GET  /<id>/resolve/<rev>/<file>             the bytes; each GET counts as one fetch of that file
// Unknown repositories answer 404 with X-Error-Code: RepoNotFound; a repository with a token requires it (401).
// An endpoint may carry a client's name, `<url>/~<client>`: each client's fetches are counted apart (one per node).
// A fetch is a GET of a file's bytes: hf makes metadata requests (revision, HEAD) even when its cache is complete,
// so only the bytes served tell how often a node really downloaded the model.
import { createHash } from "node:crypto";
import * as http from "node:http";

export interface HubRepo {
  /** `org/name`. */
  readonly id: string;
  readonly files: Readonly<Record<string, string>>;
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  readonly token?: string;
}

export interface StandInHub {
  readonly url: string;
  /** The endpoint of one client (a node): its fetches are counted under its name. */
  urlFor(client: string): string;
  /** How many times each `<id>/<file>` was downloaded (GET of its bytes) by `client` ("" for requests to `url`). */
  fetches(client?: string): Record<string, number>;
  /** Every client that downloaded something. */
  clients(): string[];
  close(): Promise<void>;
}

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

/** Serve `repos` on 127.0.0.1:`port` (0: any free port). */
export function startHub(repos: readonly HubRepo[], port = 0): Promise<StandInHub> {
  const byId = new Map(repos.map((r) => [r.id, { ...r, sha: sha1(JSON.stringify(r.files)) }]));
  const counts = new Map<string, Record<string, number>>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://hub");
    const client = /^\/~([^/]+)(\/.*)$/.exec(url.pathname);
    if (client) url.pathname = client[2];
    const clientName = client ? decodeURIComponent(client[1]) : "";
    const reply = (status: number, headers: Record<string, string>, body = "") => {
      res.writeHead(status, { "Content-Length": String(Buffer.byteLength(body)), ...headers });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    const json = (value: unknown) => reply(200, { "Content-Type": "application/json" }, JSON.stringify(value));
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/(revision|tree)\/([^/]+)(?:\/(.*))?$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const id = decodeURIComponent((api ?? resolve)?.[1] ?? "");
    const repo = byId.get(id);
    if (!repo) return reply(404, { "X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found" }, `{"error":"Repository not found"}`);
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`)
      return reply(401, { "X-Error-Code": "GatedRepo", "X-Error-Message": "Access to this model is restricted" }, `{"error":"gated"}`);
    const rev = decodeURIComponent((api ? api[3] : resolve?.[2]) ?? "");
    if (rev !== "main" && rev !== repo.sha)
      return reply(404, { "X-Error-Code": "RevisionNotFound", "X-Error-Message": `Invalid rev id: ${rev}` }, "{}");
    if (api?.[2] === "revision")
      return json({ id: repo.id, modelId: repo.id, sha: repo.sha, siblings: Object.keys(repo.files).map((rfilename) => ({ rfilename })) });
    if (api?.[2] === "tree") {
      const under = api[4] ? `${decodeURIComponent(api[4])}/` : "";
      const files = Object.entries(repo.files).filter(([p]) => p.startsWith(under));
      return json(files.map(([p, content]) => ({ type: "file", path: p, size: Buffer.byteLength(content), oid: sha1(content) })));
    }
    const file = resolve ? decodeURIComponent(resolve[3]) : "";
    if (!resolve || !(file in repo.files)) return reply(404, { "X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found" }, "{}");
    const content = repo.files[file];
    if (req.method === "GET") {
      const mine = counts.get(clientName) ?? {};
      mine[`${repo.id}/${file}`] = (mine[`${repo.id}/${file}`] ?? 0) + 1;
      counts.set(clientName, mine);
    }
    return reply(200, { "X-Repo-Commit": repo.sha, ETag: `"${sha1(content)}"`, "Content-Type": "application/octet-stream" }, content);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address() as { port: number };
      const url = `http://127.0.0.1:${address.port}`;
      resolve({
        url,
        urlFor: (client) => `${url}/~${encodeURIComponent(client)}`,
        fetches: (client = "") => ({ ...counts.get(client) }),
        clients: () => [...counts.keys()].sort(),
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

/** A tiny model repository for `id`: what vLLM reads first (config.json) and a small weights file. */
export function tinyModelRepo(id: string): HubRepo {
  return {
    id,
    files: { "config.json": '{"model_type":"llama","architectures":["LlamaForCausalLM"]}', "model.safetensors": "stand-in weights\n".repeat(64) },
  };
}
