// A script handler: one JSON request on stdin, one JSON response on stdout (docs/protocol.md).
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const request = JSON.parse(input);
  const who = (request.arguments || {}).who || "world";
  let text = `Greetings, ${who}!`;
  if ((request.args || []).includes("--shout")) {
    text = text.toUpperCase();
  }
  process.stdout.write(JSON.stringify({ status: "success", stdout: text + "\n" }) + "\n");
});
