import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule, { type FormatsPlugin } from "ajv-formats";
import { escapePointer, findOperation, requestSchemas, type Operation } from "./github-openapi/operations.js";

/**
 * Checks a request sent to GitHub against GitHub's own OpenAPI description:
 * the operation must exist, and its path and query parameters and JSON body
 * must be valid against the operation's schemas. The fake GitHub runs every
 * request through it, so a test fails when Ephemera sends something GitHub would
 * refuse (or silently ignore, like a misspelt body field).
 *
 *     checkGitHubRequest({ method: "POST", path: "/api/v3/repos/o/r/deployments", headers, body })
 *     // → { operation: { operationId: "repos/create-deployment", … }, problems: ["body.auto_merge must be boolean"] }
 *
 * The spec is parsed once per process; each operation's validators are
 * compiled on first use and kept.
 */

export interface GitHubRequest {
  method: string;
  /** The URL path with its query string; a GHES `/api/v3` prefix is ignored. */
  path: string;
  headers?: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or the raw text of a non-JSON body; undefined when there is none. */
  body?: unknown;
}

export interface GitHubRequestCheck {
  operation?: Pick<Operation, "method" | "template" | "operationId">;
  /** Empty when the request is valid. */
  problems: string[];
}

interface OperationValidators {
  path: ValidateFunction;
  query: ValidateFunction;
  queryNames: Set<string>;
  body?: { validate: ValidateFunction; declared?: Set<string> };
}

const GHES_PREFIX = "/api/v3";
const SPEC_ID = "https://api.github.com/openapi.json";
const JSON_TYPE = "application/json";

let ajvs: { strict: Ajv; coercing: Ajv } | undefined;
const validators = new Map<Operation, OperationValidators>();

export function checkGitHubRequest(request: GitHubRequest): GitHubRequestCheck {
  const url = new URL(request.path, "http://github.invalid");
  const path = url.pathname.startsWith(`${GHES_PREFIX}/`) ? url.pathname.slice(GHES_PREFIX.length) : url.pathname;
  const found = findOperation(request.method, path);
  if (!found) return { problems: [`GitHub documents no operation ${request.method.toUpperCase()} ${path}`] };
  const { operation, params } = found;
  const compiled = validatorsOf(operation);
  const problems = [
    ...schemaProblems(compiled.path, params, "path"),
    ...queryProblems(compiled, url.searchParams),
    ...bodyProblems(operation, compiled, request),
  ];
  return { operation: { method: operation.method, template: operation.template, operationId: operation.operationId }, problems };
}

/** One readable block per invalid request, for a test failure. */
export function describeInvalidRequests(invalid: ReadonlyArray<{ method: string; path: string; check: GitHubRequestCheck }>): string {
  const blocks = invalid.map(({ method, path, check }) => {
    const operation = check.operation ? ` (${check.operation.operationId}, ${check.operation.template})` : "";
    return [`${method} ${path}${operation}:`, ...check.problems.map((problem) => `  - ${problem}`)].join("\n");
  });
  return `${invalid.length} request(s) invalid against GitHub's OpenAPI description:\n${blocks.join("\n")}`;
}

function queryProblems(compiled: OperationValidators, searchParams: URLSearchParams): string[] {
  const query: Record<string, string | string[]> = {};
  const problems: string[] = [];
  for (const name of new Set(searchParams.keys())) {
    if (!compiled.queryNames.has(name)) problems.push(`query.${name} is not a parameter of this operation`);
    const values = searchParams.getAll(name);
    query[name] = values.length === 1 ? values[0]! : values;
  }
  return [...problems, ...schemaProblems(compiled.query, query, "query")];
}

function bodyProblems(operation: Operation, compiled: OperationValidators, request: GitHubRequest): string[] {
  const { body } = request;
  if (body === undefined) return operation.requestBody?.required ? ["body is required"] : [];
  if (!operation.requestBody) return ["body: this operation takes none"];
  if (!compiled.body) return [`body: this operation takes ${Object.keys(operation.requestBody.content).join(" or ")}, not JSON`];
  const contentType = String(request.headers?.["content-type"] ?? "");
  if (!contentType.toLowerCase().startsWith(JSON_TYPE)) return [`body: content-type is "${contentType}", GitHub expects ${JSON_TYPE}`];
  const problems = schemaProblems(compiled.body.validate, body, "body");
  const { declared } = compiled.body;
  if (declared && typeof body === "object" && body !== null && !Array.isArray(body)) {
    for (const field of Object.keys(body)) if (!declared.has(field)) problems.push(`body.${field} is not a field GitHub documents here`);
  }
  return problems;
}

function schemaProblems(validate: ValidateFunction, data: unknown, where: string): string[] {
  if (validate(data)) return [];
  return [...new Set((validate.errors ?? []).map((error) => describeError(error, where)))];
}

function describeError(error: ErrorObject, where: string): string {
  const field = `${where}${error.instancePath.replace(/\//g, ".")}`;
  const detail =
    error.keyword === "enum"
      ? ` (${(error.params as { allowedValues: unknown[] }).allowedValues.map((value) => JSON.stringify(value)).join(", ")})`
      : "";
  return `${field} ${error.message}${detail}`;
}

function validatorsOf(operation: Operation): OperationValidators {
  const cached = validators.get(operation);
  if (cached) return cached;
  const { strict, coercing } = ajvInstances();
  const schemaFor = (location: "path" | "query") => {
    const chosen = operation.parameters.filter(({ parameter }) => parameter.in === location);
    return {
      type: "object",
      properties: Object.fromEntries(chosen.map(({ parameter, pointer }) => [parameter.name, { $ref: refTo(`${pointer}/schema`) }])),
      required: chosen.filter(({ parameter }) => parameter.required).map(({ parameter }) => parameter.name),
    };
  };
  const jsonBody = operation.requestBody?.content[JSON_TYPE]?.schema;
  const compiled: OperationValidators = {
    // Parameters arrive as text: coerced to the schema's type (and a repeated query key to an array) before checking.
    path: coercing.compile(schemaFor("path")),
    query: coercing.compile(schemaFor("query")),
    queryNames: new Set(operation.parameters.filter(({ parameter }) => parameter.in === "query").map(({ parameter }) => parameter.name)),
    ...(jsonBody && {
      body: {
        validate: strict.compile({ $ref: refTo(`${operation.pointer}/requestBody/content/${escapePointer(JSON_TYPE)}/schema`) }),
        declared: declaredFields(jsonBody),
      },
    }),
  };
  validators.set(operation, compiled);
  return compiled;
}

/**
 * The top-level fields a body schema names, when it lists them and says
 * nothing of others: GitHub ignores an undocumented field, so a misspelt one
 * would otherwise pass unnoticed.
 */
function declaredFields(schema: Record<string, any>): Set<string> | undefined {
  if (!schema.properties || schema.additionalProperties !== undefined || schema.oneOf || schema.anyOf || schema.allOf) return undefined;
  return new Set(Object.keys(schema.properties));
}

function refTo(pointer: string): string {
  return `${SPEC_ID}#${pointer.split("/").map(encodeURIComponent).join("/")}`;
}

function ajvInstances() {
  if (ajvs) return ajvs;
  const schemas = requestSchemas();
  const make = (coerceTypes: boolean | "array") => {
    // strict: false, because OpenAPI adds keywords JSON Schema lacks (`example`, `discriminator`, `x-github`, …).
    const ajv = new Ajv({ strict: false, allErrors: true, coerceTypes, validateSchema: false });
    addFormats(ajv);
    // GitHub's own formats, not checked by GitHub either.
    ajv.addFormat("repo.nwo", true).addFormat("timestamp", true);
    ajv.addSchema(schemas, SPEC_ID);
    return ajv;
  };
  ajvs = { strict: make(false), coercing: make("array") };
  return ajvs;
}

// ajv-formats is CommonJS: imported from ESM, its plugin is the module's `default` property.
const addFormats = (addFormatsModule as unknown as { default: FormatsPlugin }).default;
