using Isaac.Core.Dispatch;
using Isaac.Core.Execution;
using Isaac.Core.Manifests;
using Isaac.Core.Plugins;
using Isaac.Plugins;

namespace Isaac.Core.Tests.Support;

/// <summary>Ready-made values for tests.</summary>
internal static class Some
{
    public static SessionInfo Session(CommandOrigin? origin = null) => new()
    {
        Device = "test-device",
        IsaacHome = Path.GetTempPath(),
        Origin = origin ?? CommandOrigin.Local,
    };

    public static CommandRequest Request(LoadedCommand command, string args = "") => new()
    {
        Command = command.Name,
        Text = $"/{command.Name} {args}".TrimEnd(),
        Args = args.Length == 0 ? [] : args.Split(' '),
        WorkingDirectory = Path.GetTempPath(),
        Session = Session(),
        Deadline = DateTimeOffset.UtcNow + command.Timeout,
    };

    public static Dispatcher Dispatcher(CommandCatalog catalog, PluginCatalog plugins, TierPolicy? policy = null) =>
        new(catalog, new OutOfProcessRunner(), new InProcessRunner(plugins, new HandlerContext { Commands = catalog.Descriptors }), policy);
}
