/** True for application/json and application/*+json, parameters (charset…) allowed; false when absent. */
export function isJsonMediaType (contentType: string | undefined): boolean {
  if (contentType === undefined) return false
  const essence = contentType.split(';', 1)[0]!.trim().toLowerCase()
  return essence === 'application/json' || /^application\/[a-z0-9!#$&^_.-]+\+json$/.test(essence)
}

/** True for application/x-www-form-urlencoded, parameters (charset…) allowed; false when absent. */
export function isFormMediaType (contentType: string | undefined): boolean {
  if (contentType === undefined) return false
  return contentType.split(';', 1)[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded'
}
