import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Ajv, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import { DockerfileParser, type ImageTemplate, type Instruction } from 'dockerfile-ast'
import { validate as lintDockerfile } from 'dockerfile-utils'
import { parse as parseYaml } from 'yaml'
import { Env } from '../../schemas/env.ts'

// Fast checks of the packaging files; scripts/docker-smoke.sh (test/packaging/container.test.ts)
// proves they really build and run.

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const read = (path: string) => readFileSync(ROOT + path, 'utf8')
// ajv-formats is CommonJS with an `exports.default`; under Node's ESM interop that is `.default`.
const addFormats = addFormatsModule.default

type Yaml = Record<string, any>

/** The official compose-spec JSON schema as dclint ships it; its draft-07 `$schema` URL is not one ajv knows by id. */
function composeValidator (): ValidateFunction {
  const { $schema: _ignored, ...schema } = JSON.parse(read('node_modules/dclint/schemas/compose.schema.json'))
  const ajv = new Ajv({ allErrors: true, strict: false })
  addFormats(ajv)
  return ajv.compile(schema)
}

test('compose.yaml is valid against the compose-spec schema, and a broken copy is not', () => {
  const validate = composeValidator()
  const compose = parseYaml(read('compose.yaml'))
  assert.equal(validate(compose), true, JSON.stringify(validate.errors, null, 2))

  const broken = structuredClone(compose)
  broken.services.api.healthcheck.retries = 'three'
  broken.services.api.restart_policy = 'always'
  assert.equal(validate(broken), false)
})

test('compose.yaml runs api as the contract says, within docker-compose 1.29 limits', () => {
  const compose: Yaml = parseYaml(read('compose.yaml'))
  assert.equal(compose.name, undefined, 'compose 1.29 refuses a top-level name')
  const api = compose.services.api
  assert.equal(api.build, '.')
  assert.deepEqual(api.ports, ['8000:8000'])
  assert.match(api.environment.WEBHOOK_SECRET, /^\$\{WEBHOOK_SECRET[:?}]/, 'passed through from the environment')
  assert.equal(api.environment.DATABASE_URL, 'sqlite:////data/app.db')
  assert.ok('LOG_LEVEL' in api.environment)
  const dataVolume = (api.volumes as string[]).find((v) => v.endsWith(':/data'))
  assert.ok(dataVolume, 'a volume at /data')
  const volumeName = dataVolume.split(':')[0]!
  assert.ok(Object.hasOwn(compose.volumes, volumeName), `${volumeName} is a named volume`)
  assert.match(api.healthcheck.test.join(' '), /\/health\/ready/)
  assert.equal(api.healthcheck.start_interval, undefined, 'compose 1.29 refuses healthcheck.start_interval')
  assert.equal(api.restart, 'unless-stopped')
  assert.equal(api.profiles, undefined, 'api starts without a profile')

  const { prometheus, grafana } = compose.services
  assert.deepEqual(prometheus.profiles, ['observability'])
  assert.match(prometheus.image, /^prom\/prometheus(:|$)/)
  assert.deepEqual(prometheus.ports, ['9090:9090'])
  assert.ok(prometheus.volumes.includes('./observability/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro'))
  assert.deepEqual(grafana.profiles, ['observability'])
  assert.match(grafana.image, /^grafana\/grafana(:|$)/)
  assert.deepEqual(grafana.ports, ['3000:3000'])
  assert.ok(grafana.volumes.includes('./observability/grafana/provisioning:/etc/grafana/provisioning:ro'))
  assert.ok(grafana.volumes.includes('./observability/grafana/dashboards:/var/lib/grafana/dashboards:ro'))
  assert.equal(grafana.environment.GF_AUTH_ANONYMOUS_ENABLED, 'true')
  assert.equal(grafana.environment.GF_AUTH_ANONYMOUS_ORG_ROLE, 'Viewer')
})

test('dockerfile-utils finds no problem in the Dockerfile, and does find one in a broken copy', () => {
  const dockerfile = read('Dockerfile')
  assert.deepEqual(lintDockerfile(dockerfile), [])
  assert.notDeepEqual(lintDockerfile(dockerfile.replace('EXPOSE 8000', 'EXPOSE eight-thousand')), [])
})

/** The instructions of the stage that starts at `from`, in order. */
function stage (image: ImageTemplate): Array<{ keyword: string, args: string, instruction: Instruction }> {
  return image.getInstructions().map((instruction) => ({ keyword: instruction.getKeyword(), args: instruction.getArgumentsContent() ?? '', instruction }))
}

test('the Dockerfile builds in one stage and runs the built server as non-root in the other', () => {
  const content = read('Dockerfile')
  const dockerfile = DockerfileParser.parse(content)
  // Limits of the legacy builder docker-compose 1.29 uses: each of these fails there.
  assert.deepEqual(dockerfile.getDirectives(), [], 'no # syntax= line')
  for (const instruction of dockerfile.getInstructions()) {
    assert.doesNotMatch(instruction.getTextContent(), /^RUN\s+--mount|<<-?\s*["']?[A-Z]/, 'no RUN --mount, no heredocs')
  }

  const froms = dockerfile.getFROMs()
  assert.equal(froms.length, 2, 'multi-stage')
  for (const from of froms) assert.equal(from.getImage(), 'node:20-slim')
  const buildStageName = froms[0]!.getBuildStage()
  assert.ok(buildStageName)

  const build = stage(dockerfile.getContainingImage(froms[0]!.getRange().start)!)
  const runs = build.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n')
  assert.match(runs, /npm ci\b/)
  assert.match(runs, /npm run build/)
  assert.match(runs, /npm prune --omit=dev/)

  const final = stage(dockerfile.getContainingImage(froms[1]!.getRange().start)!)
  const only = (keyword: string) => {
    const found = final.filter((i) => i.keyword === keyword)
    assert.equal(found.length, 1, `one ${keyword} in the final stage`)
    return found[0]!
  }
  const copied = final.filter((i) => i.keyword === 'COPY').map((i) => i.args)
  for (const path of ['node_modules', 'dist', 'package.json']) {
    assert.ok(copied.some((args) => args.includes(`/app/${path}`)), `${path} comes from the build stage`)
  }
  assert.ok(final.filter((i) => i.keyword === 'COPY').every((i) => i.instruction.getTextContent().includes(`--from=${buildStageName}`)),
    'the runtime stage copies only build output, never sources')

  const user = only('USER').args
  assert.notEqual(user, 'root')
  assert.notEqual(user.split(':')[0], '0')
  assert.equal(only('EXPOSE').args, '8000')
  assert.equal(only('VOLUME').args, '/data')
  assert.match(final.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n'), /chown[^\n]*\bnode\b[^\n]*\/data/)
  assert.match(only('ENV').args, /DATABASE_URL=sqlite:\/\/\/\/data\/app\.db/)

  const healthcheck = only('HEALTHCHECK').args
  assert.match(healthcheck, /\/health\/ready/)
  assert.match(healthcheck, /node", "-e"/)
  assert.doesNotMatch(healthcheck, /curl|wget/)

  const cmd = only('CMD')
  assert.deepEqual(JSON.parse(cmd.args), ['node', 'dist/server.js'], 'exec form, so node is PID 1 and gets SIGTERM')
})

test('.dockerignore keeps local state, secrets and dependencies out of the build context', () => {
  const ignored = read('.dockerignore').split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'))
  for (const entry of ['.git', '.env', 'node_modules', 'dist', 'data', 'test-artifacts']) {
    assert.ok(ignored.includes(entry), `${entry} is ignored`)
  }
  for (const needed of ['src', 'schemas', 'package.json', 'package-lock.json', 'tsconfig.json']) {
    assert.ok(!ignored.includes(needed), `${needed} is needed by the build`)
  }
  assert.ok(ignored.includes('!scripts/build.ts'), 'scripts/ is ignored except the build script')
})

test('the Makefile targets run the contract\'s commands, and `make test` the README\'s test command', () => {
  const makefile = read('Makefile')
  const compose = makefile.match(/^COMPOSE \?= (.+)$/m)?.[1]
  assert.equal(compose, 'docker compose')
  const recipe = (target: string) => makefile.match(new RegExp(`^${target}:[^\\n]*\\n\\t(.+)$`, 'm'))?.[1]?.replace('$(COMPOSE)', compose)
  assert.equal(recipe('up'), 'docker compose up -d --build')
  assert.equal(recipe('stop'), 'docker compose stop', 'stop keeps the data volume')
  assert.equal(recipe('down'), 'docker compose down -v')
  assert.equal(recipe('logs'), 'docker compose logs -f api')
  assert.equal(recipe('test'), 'npm ci && npm test')
  assert.ok(read('README.md').includes('npm ci && npm test'), 'the README names the same test command')
})

/** GNU make itself on the Makefile; -n prints the recipe instead of running it. */
function make (...args: string[]): string {
  const run = spawnSync('make', ['--no-print-directory', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 })
  assert.equal(run.error, undefined, 'make is installed (.ci/run installs it)')
  assert.equal(run.status, 0, run.stderr)
  return run.stdout
}

test('`make` alone lists every target with what it does; `make stop` keeps the volume, `make down` deletes it', () => {
  const help = make()
  const targets = [...read('Makefile').matchAll(/^([a-z]+):/gm)].map((match) => match[1])
  assert.deepEqual(targets.sort(), ['down', 'help', 'logs', 'stop', 'test', 'up'])
  for (const target of targets) assert.match(help, new RegExp(`^  make ${target} +\\S`, 'm'), `help lists ${target}`)
  assert.equal(make('-n', 'stop').trim(), 'docker compose stop')
  assert.equal(make('-n', 'down').trim(), 'docker compose down -v')
})

test('.env.example lists every variable schemas/env.ts reads, each with a comment', () => {
  const lines = read('.env.example').split('\n')
  const listed = new Map<string, number>()
  lines.forEach((line, index) => {
    const name = line.match(/^([A-Z][A-Z0-9_]*)=/)?.[1]
    if (name !== undefined) listed.set(name, index)
  })
  assert.deepEqual([...listed.keys()].sort(), Object.keys(Env.properties).sort())
  for (const [name, index] of listed) {
    assert.match(lines[index - 1] ?? '', /^# \S/, `${name} has a comment right above it`)
  }
})
