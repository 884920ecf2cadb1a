import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import express from 'express'
import session, { type Store } from 'express-session'
import Fastify from 'fastify'
import type { RedisStore } from '../src/store/index.js'
import { onCleanup } from './helpers.js'

declare module 'express-session' {
  interface SessionData {
    user?: string
    role?: string
    cart?: string
    [field: string]: unknown
  }
}
declare module 'fastify' {
  interface Session {
    user?: string
    role?: string
    cart?: string
    [field: string]: unknown
  }
}

/** A gate a request can wait on, opened by the test. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {}
  const wait = new Promise<void>((resolve) => {
    open = resolve
  })
  return { wait, open }
}

/**
 * The same small app on both frameworks: login (regenerates), read, promote (regenerates on a
 * privilege change, keeping the data), set one field, a slow request that writes after waiting on
 * a gate, and logout.
 */
export interface App {
  url: string
  /** Requests to `/slow` wait on this before writing. */
  slowGate: ReturnType<typeof gate>
  /** Resolves when a `/slow` request has loaded its session and is waiting. */
  slowStarted: Promise<void>
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 30))

const SECRET = 'a secret that is at least 32 characters long'

export async function expressApp(store: RedisStore | Store): Promise<App> {
  const app = express()
  app.use(
    session({ store, secret: SECRET, resave: false, saveUninitialized: false, cookie: { maxAge: 600_000 } }),
  )
  const slowGate = gate()
  const started = gate()
  // While the store is disconnected express-session gives requests no session at all.
  app.use((req, res, next) => (req.session ? next() : res.json({ user: null, session: false })))
  app.post('/login', (req, res, next) => {
    req.session.regenerate((error) => {
      if (error) return next(error)
      req.session.user = 'alice'
      req.session.role = 'reader'
      res.json({ ok: true })
    })
  })
  app.get('/me', (req, res) => {
    res.json({
      user: req.session.user ?? null,
      role: req.session.role ?? null,
      cart: req.session.cart ?? null,
      fields: req.session,
    })
  })
  app.post('/promote', (req, res, next) => {
    const user = req.session.user
    req.session.regenerate((error) => {
      if (error) return next(error)
      req.session.user = user
      req.session.role = 'admin'
      res.json({ ok: true })
    })
  })
  app.post('/field/:name', async (req, res) => {
    // Each request holds its session a moment, so the 50 of a test overlap between load and save.
    await pause()
    req.session[req.params.name] = req.params.name
    res.json({ ok: true })
  })
  app.post('/slow', async (req, res) => {
    started.open()
    await slowGate.wait
    req.session.cart = 'written by a slow request'
    res.json({ ok: true })
  })
  app.post('/logout', (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.json({ ok: true })))
  })
  const server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  onCleanup(() => new Promise((resolve) => server.close(resolve)))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    slowGate,
    slowStarted: started.wait,
  }
}

export async function fastifyApp(store: RedisStore): Promise<App> {
  const app = Fastify()
  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    secret: SECRET,
    store,
    saveUninitialized: false,
    cookie: { secure: false, maxAge: 600_000 },
  })
  const slowGate = gate()
  const started = gate()
  app.post('/login', async (request) => {
    await request.session.regenerate()
    request.session.user = 'alice'
    request.session.role = 'reader'
    return { ok: true }
  })
  app.get('/me', async (request) => ({
    user: request.session.user ?? null,
    role: request.session.role ?? null,
    cart: request.session.cart ?? null,
    fields: { ...request.session },
  }))
  app.post('/promote', async (request) => {
    await request.session.regenerate(['user'])
    request.session.role = 'admin'
    return { ok: true }
  })
  app.post<{ Params: { name: string } }>('/field/:name', async (request) => {
    await pause()
    request.session[request.params.name] = request.params.name
    return { ok: true }
  })
  app.post('/slow', async (request) => {
    started.open()
    await slowGate.wait
    request.session.cart = 'written by a slow request'
    return { ok: true }
  })
  app.post('/logout', async (request) => {
    await request.session.destroy()
    return { ok: true }
  })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  onCleanup(() => app.close())
  return { url, slowGate, slowStarted: started.wait }
}

/** A client that keeps the one cookie these apps set. */
export class Browser {
  cookie: string | undefined

  constructor(private readonly url: string) {}

  async request(
    method: 'GET' | 'POST',
    path: string,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(this.url + path, {
      method,
      headers: this.cookie ? { cookie: this.cookie } : {},
    })
    const setCookie = response.headers.get('set-cookie')
    if (setCookie) this.cookie = setCookie.split(';')[0]
    const text = await response.text()
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
  }
}
