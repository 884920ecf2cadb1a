/**
 * Polls `check` every 20 ms until it holds; resolves false once `limitMs` have passed without it.
 * The limit bounds a hang, it is no claim about speed: keep it generous.
 */
export async function until(check: () => boolean | Promise<boolean>, limitMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + limitMs
  while (Date.now() < deadline) {
    if (await check()) return true
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return check()
}
