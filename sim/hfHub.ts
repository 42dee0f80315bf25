// A stand-in for the Hugging Face Hub's download API (HF_ENDPOINT), serving model repositories held in memory, so the
// real huggingface_hub client (`hf download`) runs offline. What huggingface_hub 2.x asks for, and nothing more:
//   GET  /api/models/<id>/revision/<rev>        repo info: {id, sha, siblings}
//   GET  /api/models/<id>/tree/<rev>[/<path>]   the file list: [{type: "file", path, size, oid}]
//   HEAD /<id>/resolve/<rev>/<file>             X-Repo-Commit, ETag (the blob id), Content-Length
//   GET  /<id>/resolve/<rev>/<file>             the bytes; each GET counts as one fetch of that file
// Unknown repositories answer 404 with X-Error-Code: RepoNotFound; a repository with a token requires it (401).
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
  /** How many times each `<id>/<file>` was downloaded (GET of its bytes). */
  fetches(): Record<string, number>;
  close(): Promise<void>;
}

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

/** Serve `repos` on 127.0.0.1:`port` (0: any free port). */
export function startHub(repos: readonly HubRepo[], port = 0): Promise<StandInHub> {
  const byId = new Map(repos.map((r) => [r.id, { ...r, sha: sha1(JSON.stringify(r.files)) }]));
  const counts: Record<string, number> = {};
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://hub");
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
    if (rev !== "main" && rev !== repo.sha) return reply(404, { "X-Error-Code": "RevisionNotFound", "X-Error-Message": `Invalid rev id: ${rev}` }, "{}");
    if (api?.[2] === "revision") return json({ id: repo.id, modelId: repo.id, sha: repo.sha, siblings: Object.keys(repo.files).map((rfilename) => ({ rfilename })) });
    if (api?.[2] === "tree") {
      const under = api[4] ? `${decodeURIComponent(api[4])}/` : "";
      const files = Object.entries(repo.files).filter(([p]) => p.startsWith(under));
      return json(files.map(([p, content]) => ({ type: "file", path: p, size: Buffer.byteLength(content), oid: sha1(content) })));
    }
    const file = resolve ? decodeURIComponent(resolve[3]) : "";
    if (!resolve || !(file in repo.files)) return reply(404, { "X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found" }, "{}");
    const content = repo.files[file];
    if (req.method === "GET") counts[`${repo.id}/${file}`] = (counts[`${repo.id}/${file}`] ?? 0) + 1;
    return reply(200, { "X-Repo-Commit": repo.sha, ETag: `"${sha1(content)}"`, "Content-Type": "application/octet-stream" }, content);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${address.port}`,
        fetches: () => ({ ...counts }),
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}
