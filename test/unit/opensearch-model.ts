import { expect } from 'vitest';
import { ndjsonOf, type WireRequest, type WireResponse } from './opensearch-wire';

/**
 * A small model of an OpenSearch 2.17 node, at the wire: the requests the adapter's client sends, answered
 * with the response shapes of OpenSearch's documentation (the same shapes as the recorded fixtures in
 * fixtures/opensearch/). It analyses no text — keyword fields match exact terms, as OpenSearch does — so the
 * words it finds are the ones the adapter itself stored. It enforces what a real node would refuse: a strict
 * mapping's unknown fields, dates it cannot parse, keyword terms over 32,766 bytes, a query on a field that is
 * not indexed, a point-in-time search that names an index, the wrong HTTP method for an API.
 */

type Doc = Record<string, unknown> & { id: string; dateCreated: string };
type Clause = Record<string, Record<string, unknown>>;
interface Mapping {
  dynamic?: string;
  _source?: { excludes?: string[] };
  properties: Record<string, { type: string; index?: boolean }>;
}
interface Index {
  name: string;
  mapping: Mapping;
  docs: Map<string, Doc>;
}

const MAX_TERM_BYTES = 32_766;
const STRICT_DATE_OPTIONAL_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

const error = (status: number, type: string, reason: string, extra: Record<string, unknown> = {}): WireResponse => ({
  status,
  body: { error: { root_cause: [{ type, reason, ...extra }], type, reason, ...extra }, status },
});

/** Epoch millis of a date OpenSearch accepted (fraction beyond milliseconds dropped, as the date type does). */
const millisOf = (date: string): number => Date.parse(date.replace(/(\.\d{3})\d+/, '$1'));

export class OpenSearchModel {
  readonly requests: WireRequest[] = [];
  private readonly indices = new Map<string, Index>();
  private readonly aliases = new Map<string, string>();
  private readonly pits = new Map<string, Doc[]>();
  private pitCount = 0;
  /** Bulk items for these ids are refused with this status, once each (e.g. 429), then accepted. */
  readonly refuseOnce = new Map<string, number>();
  /** The next requests get these responses instead (e.g. a 413 or a 403), in order. */
  readonly nextResponses: WireResponse[] = [];
  /** Refreshes asked for (`refresh` query parameter of bulk requests). */
  readonly refreshes: string[] = [];

  /** What a node restart or blue/green deployment does to open points in time. */
  losePits(): void {
    this.pits.clear();
  }

  get openPits(): number {
    return this.pits.size;
  }

  /** The documents of the index behind `name` (an alias or index), as stored. */
  documents(name: string): Doc[] {
    const index = this.resolve(name);
    return index ? [...index.docs.values()] : [];
  }

  readonly handle = (request: WireRequest): WireResponse => {
    this.requests.push(request);
    const injected = this.nextResponses.shift();
    if (injected) return injected;
    const { method, path } = request;
    const segments = path.split('/').filter((segment) => segment.length > 0);
    if (path === '/_bulk') return method === 'POST' ? this.bulk(request) : this.wrongMethod(request, 'POST');
    if (path === '/_search') return method === 'POST' ? this.search(request, undefined) : this.wrongMethod(request, 'POST');
    if (path === '/_search/point_in_time') return method === 'DELETE' ? this.deletePit(request) : this.wrongMethod(request, 'DELETE');
    if (segments.length === 1) {
      const name = segments[0]!;
      if (method === 'HEAD') return { status: this.resolve(name) ? 200 : 404 };
      if (method === 'PUT') return this.createIndex(name, request);
    }
    if (segments.length === 2 && segments[1] === '_search' && method === 'POST') return this.search(request, segments[0]);
    if (segments.length === 2 && segments[1] === '_mget')
      return method === 'POST' ? this.mget(request, segments[0]!) : this.wrongMethod(request, 'POST');
    if (segments.length === 2 && segments[1] === '_delete_by_query') {
      return method === 'POST' ? this.deleteByQuery(request, segments[0]!) : this.wrongMethod(request, 'POST');
    }
    if (segments.length === 3 && segments[1] === '_search' && segments[2] === 'point_in_time' && method === 'POST') {
      return this.createPit(segments[0]!, request);
    }
    throw new Error(`the model does not know ${method} ${path}`);
  };

  private wrongMethod(request: WireRequest, allowed: string): WireResponse {
    return error(
      405,
      'method_not_allowed',
      `Incorrect HTTP method for uri [${request.path}] and method [${request.method}], allowed: [${allowed}]`,
    );
  }

  private resolve(name: string): Index | undefined {
    return this.indices.get(this.aliases.get(name) ?? name);
  }

  private createIndex(name: string, request: WireRequest): WireResponse {
    if (this.indices.has(name)) {
      return error(400, 'resource_already_exists_exception', `index [${name}/x1Yq2] already exists`, { index: name, index_uuid: 'x1Yq2' });
    }
    const body = JSON.parse(request.body) as { mappings: Mapping; aliases?: Record<string, unknown> };
    this.indices.set(name, { name, mapping: body.mappings, docs: new Map() });
    for (const alias of Object.keys(body.aliases ?? {})) this.aliases.set(alias, name);
    return { status: 200, body: { acknowledged: true, shards_acknowledged: true, index: name } };
  }

  /** Why the mapping refuses `doc`, if it does. */
  private refusal(
    index: Index,
    id: string,
    doc: Record<string, unknown>,
  ): { type: string; reason: string; caused_by?: unknown } | undefined {
    for (const [field, value] of Object.entries(doc)) {
      const spec = index.mapping.properties[field];
      if (!spec) {
        return {
          type: 'strict_dynamic_mapping_exception',
          reason: `mapping set to strict, dynamic introduction of [${field}] within [_doc] is not allowed`,
        };
      }
      const values = Array.isArray(value) ? value : [value];
      if (spec.type === 'date' && !values.every((v) => typeof v === 'string' && STRICT_DATE_OPTIONAL_TIME.test(v))) {
        return {
          type: 'mapper_parsing_exception',
          reason: `failed to parse field [${field}] of type [date] in document with id '${id}'. Preview of field's value: '${String(value)}'`,
          caused_by: {
            type: 'illegal_argument_exception',
            reason: `failed to parse date field [${String(value)}] with format [strict_date_optional_time]`,
          },
        };
      }
      if (spec.type === 'keyword') {
        const immense = values.find((v) => Buffer.byteLength(String(v)) > MAX_TERM_BYTES);
        if (immense !== undefined) {
          return {
            type: 'illegal_argument_exception',
            reason: `Document contains at least one immense term in field="${field}" (whose UTF8 encoding is longer than the max length 32766), all of which were skipped.`,
            caused_by: {
              type: 'max_bytes_length_exceeded_exception',
              reason: `bytes can be at most 32766 in length; got ${Buffer.byteLength(String(immense))}`,
            },
          };
        }
      }
    }
    return undefined;
  }

  private bulk(request: WireRequest): WireResponse {
    expect(request.headers['content-type']).toMatch(/^application\/(vnd\.opensearch\+)?x-ndjson/);
    expect(request.body.endsWith('\n'), 'a bulk body ends with a newline').toBe(true);
    if (request.query.refresh) this.refreshes.push(request.query.refresh);
    const lines = ndjsonOf(request.body);
    const items: unknown[] = [];
    for (let i = 0; i < lines.length; i += 2) {
      // `index` writes or replaces; `create` writes only a document that is not there (else a 409 for the item).
      const line = lines[i] as Partial<Record<'index' | 'create', { _index?: string; _id?: string }>>;
      const op: 'index' | 'create' = line.create ? 'create' : 'index';
      const action = line[op];
      expect(action, 'every bulk action is an index or create action').toBeDefined();
      const doc = lines[i + 1] as Doc;
      const id = String(action!._id);
      const index = this.resolve(String(action!._index));
      const concrete = index?.name ?? String(action!._index);
      const refusedWith = this.refuseOnce.get(id);
      if (!index) {
        items.push({
          [op]: {
            _index: concrete,
            _id: id,
            status: 404,
            error: { type: 'index_not_found_exception', reason: `no such index [${concrete}]` },
          },
        });
      } else if (refusedWith !== undefined) {
        this.refuseOnce.delete(id);
        items.push({
          [op]: {
            _index: concrete,
            _id: id,
            status: refusedWith,
            error: {
              type: 'es_rejected_execution_exception',
              reason:
                'rejected execution of coordinating operation [shard_detail=[posts-v1][0][C], shard_coordinating_and_primary_bytes=0, shard_operation_bytes=98580, shard_max_coordinating_and_primary_bytes=87654]',
            },
          },
        });
      } else {
        const refusal = this.refusal(index, id, doc);
        if (refusal) {
          items.push({ [op]: { _index: concrete, _id: id, status: 400, error: refusal } });
        } else if (op === 'create' && index.docs.has(id)) {
          items.push({
            create: {
              _index: concrete,
              _id: id,
              status: 409,
              error: {
                type: 'version_conflict_engine_exception',
                reason: `[${id}]: version conflict, document already exists (current version [1])`,
                index: concrete,
                shard: '0',
              },
            },
          });
        } else {
          const updated = index.docs.has(id);
          index.docs.set(id, structuredClone(doc));
          items.push({
            [op]: {
              _index: concrete,
              _id: id,
              _version: 1,
              result: updated ? 'updated' : 'created',
              _shards: { total: 2, successful: 2, failed: 0 },
              _seq_no: i / 2,
              _primary_term: 1,
              status: updated ? 200 : 201,
            },
          });
        }
      }
    }
    const errors = items.some((item) => Object.values(item as Record<string, { error?: unknown }>)[0]?.error !== undefined);
    return { status: 200, body: { took: 3, errors, items } };
  }

  private matches(index: Index, doc: Doc, clause: Clause): boolean {
    const [kind, spec] = Object.entries(clause)[0] as [string, Record<string, unknown>];
    const [field, condition] = Object.entries(spec)[0] as [string, unknown];
    const mapped = index.mapping.properties[field];
    if (mapped?.index === false) throw new QueryError(`failed to create query: Cannot search on field [${field}] since it is not indexed.`);
    const value = doc[field];
    if (kind === 'term') {
      if (mapped?.type !== 'keyword') throw new Error(`the model only answers term queries on keyword fields, not ${field}`);
      return Array.isArray(value) ? value.includes(condition) : value === condition;
    }
    if (kind === 'range') {
      const { gte, lte } = condition as { gte?: string; lte?: string };
      const at = millisOf(String(value));
      return (gte === undefined || at >= millisOf(gte)) && (lte === undefined || at <= millisOf(lte));
    }
    throw new Error(`the model does not answer ${kind} queries`);
  }

  /** Sort values as OpenSearch returns them: a date sorts as epoch millis, a keyword as its string. */
  private sortValues = (doc: Doc): [number, string] => [millisOf(doc.dateCreated), doc.id];

  private compare(a: [number, string], b: [number, string]): number {
    if (a[0] !== b[0]) return b[0] - a[0];
    return a[1] < b[1] ? 1 : a[1] > b[1] ? -1 : 0;
  }

  private search(request: WireRequest, indexName: string | undefined): WireResponse {
    const body = JSON.parse(request.body) as {
      query: { bool: { filter: Clause[] } };
      sort: unknown;
      from?: number;
      size: number;
      pit?: { id: string; keep_alive?: string };
      search_after?: [number, string];
      track_total_hits?: boolean;
      aggs?: Record<string, { percentiles: { field: string; percents: number[] } }>;
    };
    expect(body.sort).toEqual([{ dateCreated: { order: 'desc' } }, { id: { order: 'desc' } }]);
    let source: Doc[];
    let index: Index | undefined;
    if (body.pit) {
      if (indexName !== undefined)
        return error(400, 'action_request_validation_exception', 'Validation Failed: 1: [indices] cannot be used with point in time;');
      const snapshot = this.pits.get(body.pit.id);
      if (!snapshot) {
        return error(404, 'search_context_missing_exception', 'No search context found for id [91]', {});
      }
      source = snapshot;
      index = [...this.indices.values()][0];
    } else {
      index = this.resolve(String(indexName));
      if (!index) return error(404, 'index_not_found_exception', `no such index [${indexName}]`, { index: indexName });
      source = [...index.docs.values()];
    }
    let matching: Doc[];
    try {
      matching = source
        .filter((doc) => body.query.bool.filter.every((clause) => this.matches(index!, doc, clause)))
        .sort((a, b) => this.compare(this.sortValues(a), this.sortValues(b)));
    } catch (failure) {
      if (failure instanceof QueryError)
        return error(400, 'search_phase_execution_exception', 'all shards failed', {
          phase: 'query',
          caused_by: { type: 'query_shard_exception', reason: failure.message },
        });
      throw failure;
    }
    const after = body.search_after;
    const remaining = after ? matching.filter((doc) => this.compare(this.sortValues(doc), after) > 0) : matching;
    const from = body.from ?? 0;
    const page = remaining.slice(from, from + body.size);
    const excluded = new Set(index?.mapping._source?.excludes ?? []);
    const sourceOf = (doc: Doc) => Object.fromEntries(Object.entries(structuredClone(doc)).filter(([field]) => !excluded.has(field)));
    const aggregations = body.aggs ? this.aggregations(body.aggs, matching) : undefined;
    return {
      status: 200,
      body: {
        ...(body.pit ? { pit_id: body.pit.id } : {}),
        ...(aggregations ? { aggregations } : {}),
        took: 2,
        timed_out: false,
        _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
        hits: {
          ...(body.track_total_hits ? { total: { value: matching.length, relation: 'eq' } } : {}),
          max_score: null,
          hits: page.map((doc) => ({ _index: index?.name, _id: doc.id, _score: null, _source: sourceOf(doc), sort: this.sortValues(doc) })),
        },
      },
    };
  }

  /**
   * Percentiles of a date field as OpenSearch answers them: keyed by the percent as Java prints a double
   * ("25.0", "66.667"), the value in epoch ms (interpolated between ranks, as t-digest approximates), and
   * `<key>_as_string` in the field's format.
   */
  private aggregations(aggs: Record<string, { percentiles: { field: string; percents: number[] } }>, matching: Doc[]) {
    const result: Record<string, { values: Record<string, number | string | null> }> = {};
    for (const [name, { percentiles }] of Object.entries(aggs)) {
      expect(percentiles.field).toBe('dateCreated');
      const sorted = matching.map((doc) => millisOf(doc.dateCreated)).sort((a, b) => a - b);
      const values: Record<string, number | string | null> = {};
      for (const percent of percentiles.percents) {
        const key = Number.isInteger(percent) ? percent.toFixed(1) : String(percent);
        if (sorted.length === 0) {
          values[key] = null;
          continue;
        }
        const rank = (percent / 100) * (sorted.length - 1);
        const low = sorted[Math.floor(rank)]!;
        const high = sorted[Math.ceil(rank)]!;
        const value = low + (high - low) * (rank - Math.floor(rank));
        values[key] = value;
        values[`${key}_as_string`] = new Date(Math.round(value)).toISOString();
      }
      result[name] = { values };
    }
    return result;
  }

  /** Multi-get by `ids` on one index or alias: each doc found (with its `_source` less the excluded fields) or not. */
  private mget(request: WireRequest, name: string): WireResponse {
    const index = this.resolve(name);
    if (!index) return error(404, 'index_not_found_exception', `no such index [${name}]`, { index: name });
    const { ids } = JSON.parse(request.body) as { ids: string[] };
    const excluded = new Set(index.mapping._source?.excludes ?? []);
    const docs = ids.map((id) => {
      const doc = index.docs.get(id);
      if (!doc) return { _index: index.name, _id: id, found: false };
      const source = Object.fromEntries(Object.entries(structuredClone(doc)).filter(([field]) => !excluded.has(field)));
      return { _index: index.name, _id: id, _version: 1, _seq_no: 0, _primary_term: 1, found: true, _source: source };
    });
    return { status: 200, body: { docs } };
  }

  private deleteByQuery(request: WireRequest, name: string): WireResponse {
    const index = this.resolve(name);
    if (!index) return error(404, 'index_not_found_exception', `no such index [${name}]`, { index: name });
    if (request.query.refresh) this.refreshes.push(`delete_by_query:${request.query.refresh}`);
    const { query } = JSON.parse(request.body) as { query: { bool: { filter: Clause[] } } };
    let deleted = 0;
    for (const [id, doc] of index.docs) {
      if (query.bool.filter.every((clause) => this.matches(index, doc, clause))) {
        index.docs.delete(id);
        deleted++;
      }
    }
    return {
      status: 200,
      body: { took: 4, timed_out: false, total: deleted, deleted, batches: 1, version_conflicts: 0, noops: 0, failures: [] },
    };
  }

  private createPit(name: string, request: WireRequest): WireResponse {
    expect(request.query.keep_alive).toBeDefined();
    const index = this.resolve(name);
    if (!index) return error(404, 'index_not_found_exception', `no such index [${name}]`, { index: name });
    const pitId = `o463QQEKbXlwb3N0cy12MRZ${++this.pitCount}AAAAAAAAAAQ==`;
    this.pits.set(
      pitId,
      [...index.docs.values()].map((doc) => structuredClone(doc)),
    );
    return {
      status: 200,
      body: {
        pit_id: pitId,
        _shards: { total: 1, successful: 1, skipped: 0, failed: 0 },
        creation_time: 1_733_000_000_000 + this.pitCount,
      },
    };
  }

  private deletePit(request: WireRequest): WireResponse {
    const { pit_id: ids } = JSON.parse(request.body) as { pit_id: string[] };
    const pits = ids.map((id) => ({ successful: this.pits.delete(id), pit_id: id }));
    return { status: 200, body: { pits } };
  }
}

class QueryError extends Error {}
