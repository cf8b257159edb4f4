// Isaac's dispatcher benchmarks, in one run on one machine, each against a floor measured in the same run.
// Usage: dotnet run -c Release --project tools/Isaac.Benchmarks [-- --quick] [--only dispatch|startup|queue|enqueue|writers|hub|replay|sync|shell|scale]
// tools/run-benchmarks.sh also publishes the ReadyToRun isaac so that its start-up is measured too.
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using CliWrap;
using Isaac.Benchmarks;
using Isaac.Core.Dispatch;
using Isaac.Core.Execution;
using Isaac.Core.Manifests;
using Isaac.Core.Plugins;
using Isaac.Plugins;

if (args is ["--queue-writer", var writerDb, var writerCount])
{
    return await QueueBenchmarks.WriterAsync(writerDb, int.Parse(writerCount, CultureInfo.InvariantCulture));
}

var quick = args.Contains("--quick");
var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
bool Runs(string section) => only is null || only == section;
var work = Directory.CreateTempSubdirectory("isaac-bench-").FullName;
var report = new Report();
try
{
    if (Runs("dispatch"))
    {
        await InProcessDispatchAsync();
        await ScriptRoundTripAsync();
    }

    if (Runs("startup"))
    {
        await StartupBenchmarks.RunAsync(report, work, quick, BuildInfo.Get("Hello"), BuildInfo.Get("IsaacExe"), Path.Combine(BuildInfo.Get("RepoRoot"), "artifacts", "publish", "isaac"));
    }

    if (Runs("queue") || only is "enqueue" or "writers")
    {
        await QueueBenchmarks.RunAsync(report, work, quick, only is "queue" ? null : only);
    }

    if (Runs("hub") || only is "replay")
    {
        await HubBenchmarks.RunAsync(report, work, quick, replayOnly: only is "replay");
    }

    if (Runs("sync"))
    {
        await SyncBenchmarks.RunAsync(report, work, quick);
    }

    // Not in the default run: it needs PostgreSQL (a private cluster, as in the tests) and minutes.
    if (only == "scale")
    {
        await ScaleBenchmarks.RunAsync(report, work, quick, BuildInfo.Get("IsaacExe"));
    }

    if (Runs("shell"))
    {
        await ShellBenchmarks.RunAsync(report, work, quick, BuildInfo.Get("IsaacExe"), BuildInfo.Get("Hello"), Path.Combine(BuildInfo.Get("RepoRoot"), "artifacts", "publish", "isaac"));
    }
}
finally
{
    Directory.Delete(work, recursive: true);
}

Console.WriteLine(report);
return 0;

async Task InProcessDispatchAsync()
{
    var folder = Path.Combine(work, "manifests", "noop");
    Directory.CreateDirectory(Path.Combine(folder, "plugin"));
    var pluginDir = Path.GetDirectoryName(BuildInfo.Get("NoopPlugin"))!;
    foreach (var file in Directory.GetFiles(pluginDir))
    {
        File.Copy(file, Path.Combine(folder, "plugin", Path.GetFileName(file)));
    }

    File.WriteAllText(Path.Combine(folder, "command.yaml"), """
        version: "1.0"
        command: { name: noop }
        triggers: [ { pattern: "^noop(\\s+(.*))?$", capture: args } ]
        runtime: { handler: plugin/Isaac.Benchmarks.Plugin.dll }
        """);
    var catalog = await CommandCatalog.LoadAsync(new ManifestLoader(), [Path.Combine(work, "manifests")]);
    using var plugins = new PluginCatalog();
    var context = new HandlerContext { Commands = catalog.Descriptors };
    var dispatcher = new Dispatcher(catalog, new OutOfProcessRunner(), new InProcessRunner(plugins, context));
    var session = new SessionInfo { Device = "bench", IsaacHome = work };
    var handler = plugins.GetHandler(catalog.Commands[0]);
    var request = new CommandRequest { Command = "noop", Text = "/noop a b", WorkingDirectory = work, Session = session, Deadline = DateTimeOffset.UtcNow };

    var iterations = quick ? 20_000 : 200_000;
    var full = await Measure.InProcessAsync(iterations, () => dispatcher.DispatchAsync("/noop a 'b c'", session, work));
    var bare = await Measure.InProcessAsync(iterations, () => handler.HandleAsync(request, context, CancellationToken.None));
    report.Section("In-process plugin dispatch",
        $"`Dispatcher.DispatchAsync(\"/noop a 'b c'\")` (classify, match, split words, build request, deadline, run, wrap result) vs. calling the handler directly; {iterations:N0} calls each after warm-up.",
        ("direct handler call (floor)", bare, bare),
        ("full dispatch", full, bare));
}

async Task ScriptRoundTripAsync()
{
    var folder = Path.Combine(work, "scripts", "echo");
    Directory.CreateDirectory(folder);
    var script = Path.Combine(folder, "handler.py");
    File.WriteAllText(script, """
        import json, sys
        request = json.load(sys.stdin)
        print(json.dumps({"status": "success", "stdout": request["command"]}))
        """);
    // The real interpreter, not a version manager's shim (pyenv's is a bash script that costs more than Python).
    var python = await RealPythonAsync();
    File.WriteAllText(Path.Combine(folder, "command.yaml"), $$"""
        version: "1.0"
        command: { name: echo }
        runtime: { handler: handler.py, interpreter: "{{python}}", timeout_ms: 10000 }
        """);
    var command = (await new ManifestLoader().LoadAsync(Path.Combine(folder, "command.yaml"))).Command!;
    var session = new SessionInfo { Device = "bench", IsaacHome = work };
    var request = new CommandRequest { Command = "echo", Text = "/echo", WorkingDirectory = work, Session = session, Deadline = DateTimeOffset.UtcNow.AddMinutes(1) };
    var requestJson = System.Text.Json.JsonSerializer.Serialize(request, Isaac.Core.Internal.IsaacJson.Default.CommandRequest);
    var runner = new OutOfProcessRunner();

    var runs = quick ? 15 : 60;
    var results = await Measure.InterleavedAsync(runs,
        ("spawn /bin/true (floor)", () => Cli.Wrap("/bin/true").ExecuteAsync()),
        ("bare interpreter: python3 -c pass", () => Cli.Wrap(python).WithArguments(["-c", "pass"]).ExecuteAsync()),
        ("the handler script run directly, request piped", () => Cli.Wrap(python).WithArguments([script]).WithStandardInputPipe(PipeSource.FromString(requestJson))
            .WithStandardOutputPipe(Discard()).ExecuteAsync()),
        ("Isaac script handler round trip", () => runner.RunAsync(command, request)));
    report.Section("Script handler round trip",
        $"Median of {runs} interleaved runs each. The handler parses the request with Python's json module and prints a response; Isaac adds setsid, the environment allowlist, capped pipes and envelope checks.",
        ("spawn /bin/true (floor)", results[0], results[0]),
        ("bare interpreter: python3 -c pass", results[1], results[0]),
        ("the same script run directly", results[2], results[1]),
        ("Isaac script handler round trip", results[3], results[1]),
        ("  … relative to the script run directly", results[3], results[2]));
}

// Reads and drops output (CliWrap's PipeTarget.Null closes the pipe, which a child writing to it sees as EPIPE).
static PipeTarget Discard() => PipeTarget.ToStream(Stream.Null);

static async Task<string> RealPythonAsync()
{
    var output = new StringBuilder();
    await Cli.Wrap("python3").WithArguments(["-c", "import sys; print(sys.executable)"]).WithStandardOutputPipe(PipeTarget.ToStringBuilder(output)).ExecuteAsync();
    return output.ToString().Trim();
}

