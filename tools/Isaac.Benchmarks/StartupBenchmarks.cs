using System.Globalization;
using CliWrap;

namespace Isaac.Benchmarks;

/// <summary>
/// Cold start of the real <c>isaac</c> executable (docs/BENCHMARKS.md "Cold start"): a plain shell line, a script
/// command, <c>/help</c> (an in-process plugin with a table) and a route queued with no hub, each against a dotnet
/// hello world started in the same rounds. Run for the ReadyToRun publish (tools/install.sh, the README's way of
/// running isaac) and for the plain build output.
/// </summary>
internal static class StartupBenchmarks
{
    public static async Task RunAsync(Report report, string work, bool quick, string hello, string buildOutput, string publish)
    {
        var home = Path.Combine(work, "startup-home");
        var script = Path.Combine(home, "commands", "hi");
        Directory.CreateDirectory(script);
        File.WriteAllText(Path.Combine(script, "command.yaml"), """
            version: "1.0"
            command: { name: hi, description: "a shell script handler" }
            runtime: { handler: run.sh }
            """);
        File.WriteAllText(Path.Combine(script, "run.sh"), "#!/bin/sh\ncat >/dev/null\nprintf '{\"status\":\"success\",\"stdout\":\"hi\"}'\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(script, "run.sh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var builds = new List<(string Name, string Exe)>();
        if (File.Exists(publish))
        {
            builds.Add(("ReadyToRun publish", publish));
        }

        builds.Add(("build output", buildOutput));
        string[][] lines = [["-c", "true"], ["-c", "/hi"], ["-c", "/help"], ["-c", "!laptop2 /status"]];

        // `isaac -c true` runs the line in $SHELL: the shell's own start is part of that line, shown for reference.
        var shell = Environment.GetEnvironmentVariable("SHELL") is { Length: > 0 } s ? s : "/bin/sh";
        var cases = new List<(string Name, Func<Task> Action)>
        {
            ("dotnet hello world (floor)", Start(hello, home, [])),
            ($"`{shell} -c true` alone (reference)", Start(shell, home, ["-c", "true"])),
        };
        var counts = new List<string> { "", "" };
        foreach (var (build, exe) in builds)
        {
            await Start(exe, home, ["-c", "true"])(); // fills the manifest cache before anything is counted
            foreach (var line in lines)
            {
                cases.Add(($"`isaac {line[0]} '{line[1]}'`, {build}", Start(exe, home, line)));
                counts.Add((await LoadedAssembliesAsync(exe, home, work, line)).ToString(CultureInfo.InvariantCulture));
            }
        }

        var runs = quick ? 8 : 30;
        var results = await Measure.InterleavedAsync(runs, [.. cases]);
        report.Section("Cold start",
            $"Median of {runs} interleaved process starts each, manifest cache warm, no hub (`ISAAC_HUB` unset, so the route is queued). " +
            "`/hi` is a two-line sh script command in `<ISAAC_HOME>/commands`. Assemblies loaded per case, in order: " +
            string.Join(", ", cases.Skip(2).Select((c, i) => $"{c.Name.Split('`')[1]} {builds[i / lines.Length].Name}: {counts[i + 2]}")) + ".",
            [.. cases.Select((c, i) => (c.Name, results[i], results[0]))]);
    }

    private static Func<Task> Start(string exe, string home, string[] arguments) => () => Cli.Wrap(exe).WithArguments(arguments)
        .WithEnvironmentVariables(e => e.Set("ISAAC_HOME", home).Set("ISAAC_HUB", null).Set("ISAAC_DEVICE", "bench").Set("CI", "true"))
        .WithStandardOutputPipe(PipeTarget.ToStream(Stream.Null)).WithStandardErrorPipe(PipeTarget.ToStream(Stream.Null))
        .WithValidation(CommandResultValidation.None).ExecuteAsync();

    // The isaac executable writes the names of the assemblies it loaded to ISAAC_ASSEMBLY_LIST at exit.
    private static async Task<int> LoadedAssembliesAsync(string exe, string home, string work, string[] arguments)
    {
        var list = Path.Combine(work, "assemblies.txt");
        await Cli.Wrap(exe).WithArguments(arguments)
            .WithEnvironmentVariables(e => e.Set("ISAAC_HOME", home).Set("ISAAC_HUB", null).Set("ISAAC_DEVICE", "bench").Set("CI", "true").Set("ISAAC_ASSEMBLY_LIST", list))
            .WithStandardOutputPipe(PipeTarget.ToStream(Stream.Null)).WithValidation(CommandResultValidation.None).ExecuteAsync();
        return File.ReadAllLines(list).Length;
    }
}
