import { Type, type Static } from './typebox.ts'

export const SenderCount = Type.Object({
  from: Type.String({ description: 'Sender MSISDN.' }),
  count: Type.Integer({ description: 'Messages from this sender.' })
}, { $id: 'SenderCount', description: 'Messages from one sender.' })

export const Stats = Type.Object({
  total_messages: Type.Integer({ description: 'All stored messages.' }),
  senders_count: Type.Integer({ description: 'Distinct senders over all messages.' }),
  messages_per_sender: Type.Array(Type.Ref(SenderCount), {
    description: 'Top 10 senders by count descending, ties by sender ascending.'
  }),
  first_message_ts: Type.Union([Type.String(), Type.Null()], { description: 'ts of the earliest instant, null when empty.' }),
  last_message_ts: Type.Union([Type.String(), Type.Null()], { description: 'ts of the latest instant, null when empty.' })
}, { $id: 'Stats', description: 'Aggregate figures over every stored message.' })
export type Stats = Static<typeof Stats>
export type SenderCount = Static<typeof SenderCount>
