/**
 * Headless Chromium (Debian's `chromium`) driven by playwright-core, with the network cut off:
 * every request that is not a file: URL is aborted and counted. Missing Chromium fails under CI
 * (`.ci/run` installs it) and skips elsewhere.
 */
import * as fs from "node:fs"
import { type Browser, chromium, type Page } from "playwright-core"

export const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p))

export const chromiumOrSkip = (): string | undefined => {
  if (CHROMIUM !== undefined) return CHROMIUM
  if (process.env["CI"])
    throw new Error("Chromium is missing under CI: .ci/run installs it with apt-get install -y chromium")
  console.warn("skipping browser tests: no chromium (apt-get install -y chromium)")
  return undefined
}

export const launch = (executablePath: string): Promise<Browser> =>
  chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] })

/** A page whose non-file requests are aborted; `blocked` lists them. */
export const offlinePage = async (browser: Browser): Promise<{ page: Page; blocked: Array<string> }> => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } })
  const blocked: Array<string> = []
  await page.route("**/*", (route) => {
    const url = route.request().url()
    if (url.startsWith("file:") || url.startsWith("data:")) return route.continue()
    blocked.push(url)
    return route.abort()
  })
  return { page, blocked }
}

/** Distinct colours of a PNG (decoded by the browser) inside the box [x0, x1) × [y0, y1) as fractions of its size. */
export const pngColours = (page: Page, png: Buffer, box = { x0: 0.1, x1: 0.9, y0: 0.15, y1: 0.85 }): Promise<number> =>
  page.evaluate(
    async ({ b64, box }) => {
      // runs in the page: the DOM is reached through globalThis (Node's types have no DOM)
      const dom = globalThis as unknown as { Image: new () => any; document: { createElement: (t: string) => any } }
      const img = new dom.Image()
      img.src = `data:image/png;base64,${b64}`
      await img.decode()
      const canvas = dom.document.createElement("canvas")
      canvas.width = img.width
      canvas.height = img.height
      const ctx = canvas.getContext("2d")!
      ctx.drawImage(img, 0, 0)
      const [x, y] = [Math.floor(img.width * box.x0), Math.floor(img.height * box.y0)]
      const data = ctx.getImageData(
        x,
        y,
        Math.floor(img.width * (box.x1 - box.x0)),
        Math.floor(img.height * (box.y1 - box.y0))
      ).data
      const colours = new Set<number>()
      for (let i = 0; i < data.length; i += 4) colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!)
      return colours.size
    },
    { b64: png.toString("base64"), box }
  )
