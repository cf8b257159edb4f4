using Isaac.Core.Manifests;
using Isaac.Plugins;

namespace Isaac.Core.Execution;

/// <summary>The only environment variables a script handler sees: a fixed allowlist, the manifest's own additions, and Isaac's session facts.</summary>
internal static class HandlerEnvironment
{
    private static readonly string[] _allowed =
        ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TERM", "TZ", "TMPDIR", "COLUMNS", "NO_COLOR"];

    public static Dictionary<string, string> For(LoadedCommand command, CommandRequest request)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in _allowed.Concat(command.Manifest.Security.Env))
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                environment[name] = value;
            }
        }

        environment["ISAAC_HOME"] = request.Session.IsaacHome;
        environment["ISAAC_DEVICE"] = request.Session.Device;
        environment["ISAAC_COMMAND"] = command.Name;
        environment["ISAAC_PROTOCOL_VERSION"] = Protocol.Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (!request.Session.Interactive)
        {
            environment["NO_COLOR"] = "1";
        }

        return environment;
    }

    /// <summary>Replaces an inherited environment with exactly <paramref name="environment"/>.</summary>
    public static void Apply(IDictionary<string, string?> target, Dictionary<string, string> environment)
    {
        target.Clear();
        foreach (var (name, value) in environment)
        {
            target[name] = value;
        }
    }
}
