// The one place TypeBox is imported: every schema module builds on these exports.
export { Type, type Static, type TSchema } from '@sinclair/typebox'
export { Value } from '@sinclair/typebox/value'
