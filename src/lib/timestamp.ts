const isLeapYear = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0

function daysInMonth (year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
}

/** The ASCII digits ts[start, end) as a number, or -1 when one of them is not 0-9. */
function digitsAt (ts: string, start: number, end: number): number {
  let value = 0
  for (let i = start; i < end; i++) {
    const digit = ts.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return -1
    value = value * 10 + digit
  }
  return value
}

/**
 * The sortable instant key of a `ts` string, or null when it is not a real UTC instant in our format,
 * `YYYY-MM-DDTHH:MM:SS[.F{1,9}]Z` (ASCII digits only). The key pads the fraction to nine digits, so plain
 * string order is instant order ("10:00:00Z" → "…10:00:00.000000000Z" sorts before "10:00:00.5Z" →
 * "…10:00:00.500000000Z").
 *
 * Read character by character rather than with a capturing regular expression: every POST /webhook
 * calls it twice (the body's `ts` format, then the store's key), and the regex's match array and seven
 * substrings were most of its cost. test/lib/timestamp.test.ts checks it against the regex form.
 */
export function instantKey (ts: string): string | null {
  const length = ts.length
  // 20 characters without a fraction; with one, a dot and 1-9 digits more.
  if (length !== 20 && (length < 22 || length > 30)) return null
  if (ts.charCodeAt(4) !== 45 || ts.charCodeAt(7) !== 45 || ts.charCodeAt(10) !== 84 || // - - T
    ts.charCodeAt(13) !== 58 || ts.charCodeAt(16) !== 58 || ts.charCodeAt(length - 1) !== 90) return null // : : Z
  const year = digitsAt(ts, 0, 4)
  const month = digitsAt(ts, 5, 7)
  const day = digitsAt(ts, 8, 10)
  const hour = digitsAt(ts, 11, 13)
  const minute = digitsAt(ts, 14, 16)
  const second = digitsAt(ts, 17, 19)
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return null
  if (length === 20) return `${ts.slice(0, 19)}.000000000Z`
  if (ts.charCodeAt(19) !== 46 || digitsAt(ts, 20, length - 1) < 0) return null // .
  return `${ts.slice(0, 20)}${ts.slice(20, length - 1).padEnd(9, '0')}Z`
}

export const isTimestamp = (ts: string): boolean => instantKey(ts) !== null
