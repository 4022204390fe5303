import { Type, type Static } from './typebox.ts'

export const Live = Type.Object({
  status: Type.Literal('ok', { description: 'The process is running.' })
}, { $id: 'Live', description: 'Liveness: never touches the database.' })

export const Ready = Type.Object({
  status: Type.Literal('ready', { description: 'Every readiness check passed.' })
}, { $id: 'Ready', description: 'The service can take and store webhooks.' })

const CheckResult = Type.String({ description: '"ok", or why the check failed.' })

export const ReadinessChecks = Type.Object({
  database: CheckResult,
  migrations: CheckResult,
  writable: CheckResult,
  shutdown: CheckResult
}, { $id: 'ReadinessChecks', description: 'One entry per readiness check.' })
export type ReadinessChecks = Static<typeof ReadinessChecks>

export const NotReady = Type.Object({
  status: Type.Literal('not_ready'),
  checks: Type.Ref(ReadinessChecks)
}, { $id: 'NotReady', description: 'At least one readiness check failed; its entry says why.' })
export type NotReady = Static<typeof NotReady>
