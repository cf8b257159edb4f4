// A script handler: one JSON request on stdin, one JSON response on stdout (docs/protocol.md).
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  try {
    const request = JSON.parse(input);
    const who = (request.arguments || {}).who || "world";
    let text = `Greetings, ${who}!`;
    if ((request.args || []).includes("--shout")) {
      text = text.toUpperCase();
    }
    console.log(JSON.stringify({ status: "success", stdout: text + "\n" }));
  } catch (error) {
    // Any failure is reported in the envelope, never as a crash.
    console.log(JSON.stringify({ status: "error", stderr: `hello failed: ${error.message}` }));
  }
});
