using Isaac.Core.Manifests;

namespace Isaac.Core.Tests.Support;

/// <summary>Writes real command folders (command.yaml plus handler) into a temp directory.</summary>
internal static class TestManifests
{
    public static string Yaml(string name, string handler, int timeoutMs = 5_000, int maxStdoutKib = 64, string extraRuntime = "", string extra = "") => $"""
        version: "1.0"
        command:
          name: {name}
          description: "test command {name}"
        triggers:
          - prefix: "/"
            pattern: "^{name}(\\s+(.*))?$"
            capture: args
        runtime:
          handler: "{handler}"
          timeout_ms: {timeoutMs}
        {extraRuntime}
        security:
          tier: 1
          resources:
            max_stdout_kib: {maxStdoutKib}
            max_stderr_kib: 8
        {extra}
        """;

    /// <summary>A bash script handler.</summary>
    public static string Script(string root, string name, string body, int timeoutMs = 5_000, int maxStdoutKib = 64)
    {
        var script = Write(root, $"{name}/run.sh", "#!/usr/bin/env bash\n" + body + "\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return Write(root, $"{name}/command.yaml", Yaml(name, "run.sh", timeoutMs, maxStdoutKib));
    }

    /// <summary>A handler that execs the Isaac.Tests.Handler fixture in the given mode.</summary>
    public static string Handler(string root, string name, string mode, long n = 0, int timeoutMs = 5_000, int maxStdoutKib = 64) =>
        Script(root, name, $"exec '{Fixtures.TestHandler}' {mode} {n}", timeoutMs, maxStdoutKib);

    /// <summary>The fixture plugin copied into the command folder, serving the named handler class.</summary>
    public static string Plugin(string root, string name, string handlerClass, int timeoutMs = 5_000, int maxStdoutKib = 64)
    {
        var source = Path.GetDirectoryName(Fixtures.TestPlugin)!;
        foreach (var file in Directory.GetFiles(source))
        {
            var target = Path.Combine(root, name, "plugin", Path.GetFileName(file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }

        return Write(root, $"{name}/command.yaml",
            Yaml(name, "plugin/Isaac.Tests.Plugin.dll", timeoutMs, maxStdoutKib, extraRuntime: $"  class: Isaac.Tests.Plugin.{handlerClass}"));
    }

    private static string Write(string root, string relativePath, string content)
    {
        var full = Path.Combine(root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return full;
    }

    public static async Task<CommandCatalog> CatalogAsync(params string[] roots)
    {
        return await CommandCatalog.LoadAsync(new ManifestLoader(), roots);
    }

    public static async Task<LoadedCommand> LoadAsync(string manifestPath)
    {
        var result = await new ManifestLoader().LoadAsync(manifestPath);
        Assert.True(result.Command is not null, string.Join("\n", result.Problems));
        return result.Command!;
    }
}
