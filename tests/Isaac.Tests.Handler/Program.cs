// A tiny, deliberately misbehaving script handler for Isaac's process tests.
// Usage: Isaac.Tests.Handler <mode> [n]
using System.Text.Json.Nodes;

var mode = args.Length > 0 ? args[0] : "echo";
var n = args.Length > 1 ? long.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 0;
var stdout = Console.OpenStandardOutput();

switch (mode)
{
    case "echo":
        // Answers with the request it was given, so tests can inspect the envelope.
        var request = Console.In.ReadToEnd();
        var response = new JsonObject { ["status"] = "success", ["stdout"] = request, ["kind"] = "json" };
        Console.Out.Write(response.ToJsonString());
        return 0;
    case "env":
        var env = new JsonObject();
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            env[(string)e.Key] = (string?)e.Value;
        }

        Console.Out.Write(new JsonObject { ["status"] = "success", ["stdout"] = env.ToJsonString() }.ToJsonString());
        return 0;
    case "sleep":
        Thread.Sleep(TimeSpan.FromMilliseconds(n));
        Console.Out.Write("""{"status":"success","stdout":"slept"}""");
        return 0;
    case "flood":
        // Writes n bytes of 'x' as fast as the pipe takes them, never a valid response.
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)'x');
        for (long written = 0; written < n; written += chunk.Length)
        {
            stdout.Write(chunk, 0, (int)Math.Min(chunk.Length, n - written));
        }

        return 0;
    case "stderr-flood":
        var line = new string('e', 1023) + "\n";
        for (long written = 0; written < n; written += line.Length)
        {
            Console.Error.Write(line);
        }

        Console.Out.Write("""{"status":"success","stdout":"done"}""");
        return 0;
    case "garbage":
        Console.Out.Write("this is not json {{{");
        return 0;
    case "exit":
        Console.Error.WriteLine($"failing on purpose with {n}");
        return (int)n;
    case "error-response":
        Console.Out.Write("""{"status":"error","stderr":"the thing is broken"}""");
        return 3;
    case "future":
        Console.Out.Write("""{"protocol_version":99,"status":"success","stdout":"from the future"}""");
        return 0;
    case "v1":
        Console.Out.Write("""{"status": "success", "stdout": "plain v1"}""");
        return 0;
    default:
        Console.Error.WriteLine($"unknown mode '{mode}'");
        return 64;
}
