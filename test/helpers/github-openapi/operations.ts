import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/**
 * GitHub's REST operations, from the one file of `@octokit/openapi` that
 * describes api.github.com (the package root loads ten descriptions, ~900 MB).
 * Read and parsed once per process, on first use; nothing is compiled here.
 */

export interface OpenApiParameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: object;
}

export interface Operation {
  method: string;
  /** GitHub's spelling, e.g. `/repos/{owner}/{repo}/deployments`. */
  template: string;
  operationId: string;
  /** JSON pointer to the operation object in the document, for `$ref`s into it. */
  pointer: string;
  parameters: Array<{ parameter: OpenApiParameter; pointer: string }>;
  requestBody?: { required?: boolean; content: Record<string, { schema?: object }> };
}

export interface OperationMatch {
  operation: Operation;
  /** Path parameters, decoded. */
  params: Record<string, string>;
}

interface Candidate {
  segments: string[];
  operation: Operation;
}

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
/** A template ending in this parameter takes the rest of the path: GitHub serves `contents/a/b.yml` with or without `%2F`. */
const REST_PARAMETER = "{path}";

const require = createRequire(import.meta.url);
let loaded: { document: Record<string, any>; byMethodAndLength: Map<string, Candidate[]>; rest: Candidate[] } | undefined;

/**
 * The parts of the document request validation can reach (operations'
 * parameters and request bodies, and the components they refer to), at the
 * same JSON pointers. Ajv walks every schema it is given looking for `$id`s:
 * over the whole file that costs 400 ms, over these about a quarter of it.
 */
export function requestSchemas(): Record<string, any> {
  const { document } = load();
  const paths = Object.fromEntries(
    Object.entries<Record<string, any>>(document.paths).map(([template, pathItem]) => [
      template,
      Object.fromEntries(
        Object.entries(pathItem).map(([key, value]) => [key, HTTP_METHODS.includes(key) ? { parameters: value.parameters, requestBody: value.requestBody } : value]),
      ),
    ]),
  );
  return { paths, components: { schemas: document.components.schemas, parameters: document.components.parameters } };
}

/**
 * GitHub's pagination links name a repository by id (`/repositories/1296269/issues/1/comments?page=2`),
 * an undocumented alias of `/repos/{owner}/{repo}/…`; the id then stands for both.
 */
const REPOSITORY_BY_ID = /^\/repositories\/(\d+)(\/.*)?$/;

/** The operation a request addresses, or undefined when GitHub documents none for this method and path. */
export function findOperation(method: string, path: string): OperationMatch | undefined {
  const byId = REPOSITORY_BY_ID.exec(path);
  if (byId) return findDocumentedOperation(method, `/repos/${byId[1]}/${byId[1]}${byId[2] ?? ""}`);
  return findDocumentedOperation(method, path);
}

function findDocumentedOperation(method: string, path: string): OperationMatch | undefined {
  const { byMethodAndLength, rest } = load();
  const segments = path.split("/").slice(1);
  const upper = method.toUpperCase();
  for (const candidate of byMethodAndLength.get(`${upper} ${segments.length}`) ?? []) {
    const params = match(candidate.segments, segments, false);
    if (params) return { operation: candidate.operation, params };
  }
  for (const candidate of rest) {
    if (candidate.operation.method !== upper) continue;
    const params = match(candidate.segments, segments, true);
    if (params) return { operation: candidate.operation, params };
  }
  return undefined;
}

function match(template: string[], segments: string[], restAtEnd: boolean): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (const [index, part] of template.entries()) {
    const segment = segments[index];
    if (segment === undefined || segment === "") return undefined;
    const name = /^{(\w+)}$/.exec(part)?.[1];
    if (!name) {
      if (segment !== part) return undefined;
      continue;
    }
    const isRest = restAtEnd && index === template.length - 1;
    params[name] = (isRest ? segments.slice(index) : [segment]).map(decode).join("/");
  }
  return params;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Literal segments before parameters, position by position: `/pulls/comments` wins over `/pulls/{pull_number}`. */
function bySpecificity(a: Candidate, b: Candidate): number {
  for (const [index, part] of a.segments.entries()) {
    const aIsParam = part.startsWith("{");
    const bIsParam = (b.segments[index] ?? "").startsWith("{");
    if (aIsParam !== bIsParam) return aIsParam ? 1 : -1;
  }
  return 0;
}

function load() {
  if (loaded) return loaded;
  const file = require.resolve("@octokit/openapi/generated/api.github.com.json");
  const document = JSON.parse(readFileSync(file, "utf8")) as Record<string, any>;
  allowNullableWithoutType(document);
  const byMethodAndLength = new Map<string, Candidate[]>();
  const rest: Candidate[] = [];
  for (const [template, pathItem] of Object.entries<Record<string, any>>(document.paths)) {
    const segments = template.split("/").slice(1);
    for (const method of HTTP_METHODS) {
      const raw = pathItem[method];
      if (!raw) continue;
      const pointer = `/paths/${escapePointer(template)}/${method}`;
      const operation: Operation = {
        method: method.toUpperCase(),
        template,
        operationId: raw.operationId,
        pointer,
        parameters: [
          ...resolveParameters(document, pathItem.parameters, `/paths/${escapePointer(template)}/parameters`),
          ...resolveParameters(document, raw.parameters, `${pointer}/parameters`),
        ],
        requestBody: raw.requestBody,
      };
      const key = `${operation.method} ${segments.length}`;
      byMethodAndLength.set(key, [...(byMethodAndLength.get(key) ?? []), { segments, operation }]);
      if (segments.at(-1) === REST_PARAMETER) rest.push({ segments, operation });
    }
  }
  for (const candidates of byMethodAndLength.values()) candidates.sort(bySpecificity);
  loaded = { document, byMethodAndLength, rest };
  return loaded;
}

function resolveParameters(document: Record<string, any>, parameters: unknown[] | undefined, pointer: string) {
  return (parameters ?? []).map((entry, index) => {
    const ref = (entry as { $ref?: string }).$ref;
    if (!ref) return { parameter: entry as OpenApiParameter, pointer: `${pointer}/${index}` };
    const target = ref.slice(1);
    return { parameter: resolvePointer(document, target) as OpenApiParameter, pointer: target };
  });
}

function resolvePointer(document: Record<string, any>, pointer: string): unknown {
  return pointer
    .split("/")
    .slice(1)
    .reduce<any>((node, part) => node?.[part.replace(/~1/g, "/").replace(/~0/g, "~")], document);
}

export function escapePointer(part: string): string {
  return part.replace(/~/g, "~0").replace(/\//g, "~1");
}

/**
 * OpenAPI 3.0 puts `nullable: true` beside `allOf`/`anyOf`/`$ref` with no
 * `type` (145 times in this file); Ajv refuses that at compile time. Rewritten
 * in place to the JSON Schema meaning: null, or the rest of the schema.
 */
function allowNullableWithoutType(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) allowNullableWithoutType(item);
    return;
  }
  if (node === null || typeof node !== "object") return;
  const schema = node as Record<string, unknown>;
  for (const value of Object.values(schema)) allowNullableWithoutType(value);
  if (!("nullable" in schema) || "type" in schema) return;
  const { nullable, ...rest } = schema;
  for (const key of Object.keys(schema)) delete schema[key];
  if (nullable === true) schema.anyOf = [{ type: "null" }, rest];
  else Object.assign(schema, rest);
}
