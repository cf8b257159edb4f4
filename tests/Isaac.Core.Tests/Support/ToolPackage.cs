using System.Text;
using CliWrap;

namespace Isaac.Core.Tests.Support;

internal sealed record DotnetRun(int ExitCode, string Output)
{
    public override string ToString() => $"exit {ExitCode}: {Output}";
}

/// <summary>
/// The <c>isaac</c> tool package, packed from this build once per test run (packing costs tens of seconds) and
/// installed into a temporary tool path from that folder only: no other package source, so it works offline.
/// </summary>
internal static class ToolPackage
{
    private static readonly Lazy<Task<(string Packages, string Isaac)>> _installed = new(PackAndInstallAsync);

    /// <summary>The folder holding isaac's and the contract's .nupkg files.</summary>
    public static async Task<string> PackagesAsync() => (await _installed.Value).Packages;

    /// <summary>The <c>isaac</c> executable installed by <c>dotnet tool install</c>.</summary>
    public static async Task<string> IsaacAsync() => (await _installed.Value).Isaac;

    /// <summary>Runs the installed isaac with its own ISAAC_HOME, as <see cref="IsaacProcess"/> runs the built one.</summary>
    public static async Task<IsaacRun> RunIsaacAsync(string home, params string[] arguments)
    {
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var result = await CliWrap.Cli.Wrap(await IsaacAsync())
            .WithArguments(arguments)
            .WithEnvironmentVariables(env => env.Set("ISAAC_HOME", home).Set("ISAAC_DEVICE", "tool-device").Set("CI", "true"))
            .WithStandardOutputPipe(PipeTarget.ToStringBuilder(stdout))
            .WithStandardErrorPipe(PipeTarget.ToStringBuilder(stderr))
            .WithValidation(CommandResultValidation.None)
            .ExecuteAsync();
        return new IsaacRun(result.ExitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs <c>dotnet</c> with the arguments in <paramref name="workingDirectory"/>; output and errors together.</summary>
    public static async Task<DotnetRun> DotnetAsync(string workingDirectory, IReadOnlyDictionary<string, string?>? environment, params string[] arguments)
    {
        var output = new StringBuilder();
        var result = await CliWrap.Cli.Wrap("dotnet")
            .WithArguments(arguments)
            .WithWorkingDirectory(workingDirectory)
            .WithEnvironmentVariables(env => env.Set(environment ?? new Dictionary<string, string?>()).Set("DOTNET_NOLOGO", "1").Set("DOTNET_CLI_TELEMETRY_OPTOUT", "1"))
            .WithStandardOutputPipe(PipeTarget.ToStringBuilder(output))
            .WithStandardErrorPipe(PipeTarget.ToStringBuilder(output))
            .WithValidation(CommandResultValidation.None)
            .ExecuteAsync();
        return new DotnetRun(result.ExitCode, output.ToString());
    }

    /// <summary>A nuget.config that clears every source but <paramref name="folder"/>: nuget.org is never asked.</summary>
    public static void WriteOfflineNugetConfig(string directory, string folder) =>
        File.WriteAllText(Path.Combine(directory, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{folder}" />
              </packageSources>
            </configuration>
            """);

    private static async Task<(string, string)> PackAndInstallAsync()
    {
        var root = Directory.CreateTempSubdirectory("isaac-tool-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // A file still open at exit: the temp folder is cleaned by the system.
            }
        };
        var packages = Directory.CreateDirectory(Path.Combine(root, "packages")).FullName;
        var tools = Path.Combine(root, "tools");

        // The test project built isaac already (Fixtures.IsaacExe is .../bin/CONFIGURATION/net10.0/isaac): pack that build.
        var configuration = Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(Fixtures.IsaacExe)))!;
        foreach (var project in new[] { "core/Isaac.Cli", "core/Isaac.Plugins.Abstractions" })
        {
            var pack = await DotnetAsync(Fixtures.RepoRoot, null, "pack", project, "-c", configuration, "--no-build", "-o", packages);
            if (pack.ExitCode != 0 || pack.Output.Contains("warning", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"dotnet pack {project}: {pack}");
            }
        }

        WriteOfflineNugetConfig(root, packages);
        var install = await DotnetAsync(root, null, "tool", "install", "--tool-path", tools, "--add-source", packages, "isaac");
        if (install.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet tool install: {install}");
        }

        return (packages, Path.Combine(tools, "isaac"));
    }
}
