/**
 * A small schema language for the JSON bodies of the route table (route-table.ts): enough to say
 * which fields a body has, their types, which may be absent or `null`, and one line about each.
 * It is what an OpenAPI document is generated from, and `SchemaOf<T>` ties each schema to the
 * TypeScript wire type it describes, so a schema that names a field the type lacks, misses one,
 * or gives it the wrong kind does not compile.
 */

export interface StringSchema {
  readonly type: 'string';
  /** `base64`: standard base64 with padding; `date-time`: RFC 3339; `hex`: lowercase hex. */
  readonly format?: 'base64' | 'date-time' | 'hex';
  readonly enum?: readonly string[];
  /** Characters (UTF-16 code units); for base64, of the encoding, e.g. 16 for 12 bytes. */
  readonly minLength?: number;
  readonly maxLength?: number;
}
export interface IntegerSchema {
  readonly type: 'integer';
  readonly minimum?: number;
  readonly maximum?: number;
}
export interface BooleanSchema {
  readonly type: 'boolean';
}
export interface ArraySchema<I extends Schema = Schema> {
  readonly type: 'array';
  readonly items: I;
  readonly minItems?: number;
  readonly maxItems?: number;
}
/** A JSON object used as a map: any keys, values of one schema. */
export interface MapSchema<V extends Schema = Schema> {
  readonly type: 'map';
  readonly values: V;
  /** What the keys are, for humans (e.g. "decimal version number"). */
  readonly keys?: string;
}
export interface Field<S extends Schema = Schema> {
  readonly schema: S;
  /** The field may be left out (the server then uses the zero value). */
  readonly optional?: boolean;
  /** The field may be JSON `null`. */
  readonly nullable?: boolean;
  readonly summary?: string;
}
export interface ObjectSchema {
  readonly type: 'object';
  readonly fields: Readonly<Record<string, Field>>;
}
export type Schema = StringSchema | IntegerSchema | BooleanSchema | ArraySchema | MapSchema | ObjectSchema;

type Defined<T> = Exclude<T, null | undefined>;
type IsOptional<T, K extends keyof T> = object extends Pick<T, K> ? true : false;

/** The field schema of `T[K]`: `optional` and `nullable` are required exactly when the type says so. */
export type FieldOf<T, K extends keyof T> = {
  readonly schema: SchemaOf<Defined<T[K]>>;
  readonly summary?: string;
} & (IsOptional<T, K> extends true ? { readonly optional: true } : { readonly optional?: false }) &
  (null extends T[K] ? { readonly nullable: true } : { readonly nullable?: false });

/** The object schema of an interface: one field schema per property, no more, no fewer. */
export interface ObjectSchemaOf<T> extends ObjectSchema {
  readonly fields: { readonly [K in keyof T]-?: FieldOf<T, K> };
}

/** The schema that describes values of type `T`. */
export type SchemaOf<T> = [T] extends [string]
  ? StringSchema
  : [T] extends [number]
    ? IntegerSchema
    : [T] extends [boolean]
      ? BooleanSchema
      : [T] extends [readonly (infer E)[]]
        ? ArraySchema<SchemaOf<E>>
        : [T] extends [Record<string, never>]
          ? ObjectSchema & { readonly fields: Record<string, never> }
          : string extends keyof T
            ? MapSchema<SchemaOf<T[string & keyof T]>>
            : ObjectSchemaOf<T>;

/**
 * Where `value` departs from `schema`, as `field: what` (first problem only), or undefined when it
 * conforms. Fields the schema does not know are allowed (SPIKE's bodies grow additively).
 */
export function schemaMismatch(schema: Schema, value: unknown, at = 'body'): string | undefined {
  switch (schema.type) {
    case 'string':
      if (typeof value !== 'string') return `${at}: must be a string`;
      if (schema.enum !== undefined && !schema.enum.includes(value)) return `${at}: not an allowed value`;
      if (schema.minLength !== undefined && value.length < schema.minLength) return `${at}: too short`;
      if (schema.maxLength !== undefined && value.length > schema.maxLength) return `${at}: too long`;
      return undefined;
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return `${at}: must be an integer`;
      if (schema.minimum !== undefined && value < schema.minimum) return `${at}: below ${schema.minimum}`;
      if (schema.maximum !== undefined && value > schema.maximum) return `${at}: above ${schema.maximum}`;
      return undefined;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `${at}: must be a boolean`;
    case 'array': {
      if (!Array.isArray(value)) return `${at}: must be a list`;
      if (schema.minItems !== undefined && value.length < schema.minItems) return `${at}: too few entries`;
      if (schema.maxItems !== undefined && value.length > schema.maxItems) return `${at}: too many entries`;
      for (let i = 0; i < value.length; i++) {
        const m = schemaMismatch(schema.items, value[i], `${at}[${String(i)}]`);
        if (m !== undefined) return m;
      }
      return undefined;
    }
    case 'map': {
      if (!isPlainObject(value)) return `${at}: must be an object`;
      for (const [k, v] of Object.entries(value)) {
        const m = schemaMismatch(schema.values, v, `${at}.${k}`);
        if (m !== undefined) return m;
      }
      return undefined;
    }
    case 'object': {
      if (!isPlainObject(value)) return `${at}: must be an object`;
      for (const [name, field] of Object.entries(schema.fields)) {
        const v = Object.hasOwn(value, name) ? value[name] : undefined;
        if (v === undefined) {
          if (field.optional === true) continue;
          return `${at}.${name}: missing`;
        }
        if (v === null) {
          if (field.nullable === true) continue;
          return `${at}.${name}: must not be null`;
        }
        const m = schemaMismatch(field.schema, v, `${at}.${name}`);
        if (m !== undefined) return m;
      }
      return undefined;
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
