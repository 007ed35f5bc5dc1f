// Ink loads react-devtools-core only when DEV=true; the bundle still needs something to resolve it to.
export default { initialize() {}, connectToDevTools() {} };
