import type { Config } from '../config.ts'
import type { SignatureSource } from '../plugins/app/ingest-outcome.ts'
import type { Provider } from './provider.ts'
import { twilioProvider } from './twilio.ts'
import { whatsappProvider } from './whatsapp.ts'

/** The providers whose settings are present: only these have routes (the others answer 404). */
export function enabledProviders (config: Config): Provider[] {
  const providers: Provider[] = []
  if (config.whatsapp !== null) providers.push(whatsappProvider(config.whatsapp))
  if (config.twilio !== null) providers.push(twilioProvider(config.twilio))
  return providers
}

/** The signature schemes that are configured: X-Signature always, the others with their settings. */
export function signatureSources (config: Config, providers: readonly Provider[]): SignatureSource[] {
  return ['webhook', ...(config.standardWebhooks === null ? [] : ['standard_webhooks' as const]), ...providers.map((p) => p.source)]
}
