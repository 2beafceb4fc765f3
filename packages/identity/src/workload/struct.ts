/**
 * `google.protobuf.Struct` ⇄ plain JSON, for `ValidateJWTSVIDResponse.claims`.
 */
import type { StructMessage, StructValueMessage } from './proto.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

const MAX_DEPTH = 64;

/** Converts a decoded Struct message to a plain JSON object. */
export function structToJson(struct: StructMessage | null | undefined): JsonObject {
  return structToJsonAt(struct, 0);
}

function structToJsonAt(struct: StructMessage | null | undefined, depth: number): JsonObject {
  if (depth > MAX_DEPTH) throw new Error('Struct nesting is too deep');
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(struct?.fields ?? {})) {
    Object.defineProperty(out, key, {
      value: valueToJson(value, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

function valueToJson(value: StructValueMessage, depth: number): JsonValue {
  const kind = value.kind ?? presentKind(value);
  switch (kind) {
    case 'stringValue':
      return value.stringValue ?? '';
    case 'numberValue':
      return value.numberValue ?? 0;
    case 'boolValue':
      return value.boolValue ?? false;
    case 'structValue':
      return structToJsonAt(value.structValue, depth);
    case 'listValue':
      if (depth > MAX_DEPTH) throw new Error('Struct nesting is too deep');
      return (value.listValue?.values ?? []).map((v) => valueToJson(v, depth + 1));
    default:
      return null;
  }
}

function presentKind(value: StructValueMessage): string {
  if (value.stringValue !== undefined) return 'stringValue';
  if (value.numberValue !== undefined) return 'numberValue';
  if (value.boolValue !== undefined) return 'boolValue';
  if (value.structValue !== undefined && value.structValue !== null) return 'structValue';
  if (value.listValue !== undefined && value.listValue !== null) return 'listValue';
  return 'nullValue';
}

/** Converts a plain JSON object (e.g. JWT claims) to a Struct message for the wire. */
export function jsonToStruct(object: Readonly<Record<string, unknown>>): StructMessage {
  return jsonToStructAt(object, 0);
}

function jsonToStructAt(object: Readonly<Record<string, unknown>>, depth: number): StructMessage {
  if (depth > MAX_DEPTH) throw new Error('JSON nesting is too deep for a Struct');
  const fields: Record<string, StructValueMessage> = {};
  for (const [key, value] of Object.entries(object)) {
    Object.defineProperty(fields, key, {
      value: jsonToValue(value, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return { fields };
}

function jsonToValue(value: unknown, depth: number): StructValueMessage {
  if (value === null || value === undefined) return { nullValue: 0 };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'bigint') return { numberValue: Number(value) };
  if (Array.isArray(value)) {
    if (depth > MAX_DEPTH) throw new Error('JSON nesting is too deep for a Struct');
    return { listValue: { values: value.map((v: unknown) => jsonToValue(v, depth + 1)) } };
  }
  if (typeof value === 'object')
    return { structValue: jsonToStructAt(value as Record<string, unknown>, depth) };
  throw new Error(`cannot encode a ${typeof value} as a Struct value`);
}
