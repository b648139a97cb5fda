// Stylesheets are imported as text (`with { type: "text" }`) to embed them in the compiled binary.
declare module "*.css" {
  const text: string;
  export default text;
}
