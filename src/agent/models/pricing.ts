/**
 * Cost of a model round from the price table in prices.json (USD per million
 * tokens). Unknown models cost `null`: a guess would be worse than no number.
 */
import table from "./prices.json" with { type: "json" };

export interface Price {
  /** USD per million prompt tokens. */
  input: number;
  /** USD per million completion tokens. */
  output: number;
}

function isPrice(v: unknown): v is Price {
  if (typeof v !== "object" || v === null) return false;
  const p = v as Record<string, unknown>;
  return typeof p.input === "number" && p.input >= 0 && typeof p.output === "number" && p.output >= 0;
}

/** Checked once at load, so a typo in prices.json drops that entry rather than producing NaN costs. */
function loadPrices(raw: Record<string, unknown>): ReadonlyMap<string, Price> {
  const prices = new Map<string, Price>();
  for (const [id, value] of Object.entries(raw)) {
    if (!id.startsWith("_") && isPrice(value)) prices.set(id.toLowerCase(), { input: value.input, output: value.output });
  }
  return prices;
}

const PRICES = loadPrices(table);

/** Dated snapshots cost what their base model costs: `-2024-08-06`, `-0613`. */
const SNAPSHOT_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{4})$/;

/**
 * The price of a model id, or null. Tries the id, then without a provider
 * prefix (OpenRouter's `openai/gpt-4o-mini`), then without a snapshot date.
 */
export function priceFor(model: string, prices: ReadonlyMap<string, Price> = PRICES): Price | null {
  const id = model.trim().toLowerCase();
  const bare = id.slice(id.lastIndexOf("/") + 1);
  for (const candidate of [id, bare, bare.replace(SNAPSHOT_SUFFIX, "")]) {
    const price = prices.get(candidate);
    if (price) return price;
  }
  return null;
}

/** USD for one round's tokens, or null when the model is not in the table. */
export function costOf(model: string, promptTokens: number, completionTokens: number): number | null {
  const price = priceFor(model);
  if (!price) return null;
  const usd = (promptTokens * price.input + completionTokens * price.output) / 1_000_000;
  // Rounded so sums across rounds don't show float noise like 0.000315000000004.
  return Math.round(usd * 1e10) / 1e10;
}
