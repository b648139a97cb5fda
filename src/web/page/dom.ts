/** Small DOM helpers. Text only ever goes in through textContent: nothing a model says is parsed as HTML. */

type Child = Node | string | null;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Readonly<Record<string, string>> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  for (const child of children) if (child !== null) node.append(child);
  return node;
}

/** The element with this id, checked to be of the expected kind (the HTML and the script must agree). */
export function byId<T extends HTMLElement>(id: string, kind: { new (): T; prototype: T }): T {
  const node = document.getElementById(id);
  if (!(node instanceof kind)) throw new Error(`playground: #${id} is missing or not a ${kind.name}`);
  return node;
}

/** Sets text only when it changed: a streamed answer re-renders often, and unchanged nodes should stay untouched. */
export function setText(node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}
