// The one place TypeBox is imported: every schema module builds on these exports.
import TypeBox, { type Static, type TSchema, type TUnsafe } from 'typebox'

export type { Static, TSchema }
export { Value } from 'typebox/value'

/**
 * A `{ "$ref": "<$id>" }` to a shared schema, typed as that schema. TypeBox 1.x's own `Type.Ref` takes
 * only the id string and types the reference as unknown outside a `Type.Module` context
 * (https://github.com/sinclairzx81/typebox, "Ref"); this keeps 0.34's `Type.Ref(schema)` form, so
 * `Static` of a route's response or of a schema holding references stays the referenced type. The JSON
 * is the same bare `$ref` Fastify resolves through `addSchema` and @fastify/swagger names as a component.
 */
function Ref<T extends TSchema> (schema: T): TUnsafe<Static<T>> {
  const id = (schema as { $id?: unknown }).$id
  if (typeof id !== 'string' || id === '') throw new TypeError('Type.Ref needs a schema with a $id')
  return TypeBox.Unsafe<Static<T>>(TypeBox.Ref(id))
}

/** TypeBox's builder, with `Ref` taking the referenced schema (see above). */
export const Type: Omit<typeof TypeBox, 'Ref'> & { readonly Ref: typeof Ref } = Object.freeze({ ...TypeBox, Ref })
