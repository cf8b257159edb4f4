using Isaac.Core.Devices;
using Isaac.Core.Dispatch;
using Isaac.Core.Sync;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Isaac.Core.Hosting;

/// <summary>
/// Isaac's settings (DESIGN §8): a command-line flag wins over an environment variable, which wins over
/// <c>&lt;ISAAC_HOME&gt;/config.yaml</c>, which wins over the defaults.
/// </summary>
public sealed record IsaacSettings
{
    /// <summary>Isaac's home: queue, history, logs, user commands, config. The default is <c>~/.isaac</c>.</summary>
    public required string Home { get; init; }

    /// <summary>This device's name, lower-cased (docs/hub.md). The default is the host name made a valid device name (lower case, other characters '-').</summary>
    public required string Device { get; init; }

    /// <summary>The hub's address. The default is none: every route queues.</summary>
    public string? Hub { get; init; }

    /// <summary>This device's hub token. The default is none.</summary>
    public string? Token { get; init; }

    /// <summary>Which tiers may run here. The default is <see cref="TierPolicy.Default"/>.</summary>
    public TierPolicy Tiers { get; init; } = TierPolicy.Default;

    /// <summary>How often the hub is probed. The default is <see cref="ConnectivityOptions.Default"/>.</summary>
    public ConnectivityOptions Connectivity { get; init; } = ConnectivityOptions.Default;

    /// <summary>
    /// Whether plain shell commands typed at a hub-connected prompt are copied to the hub's shared history
    /// (ISAAC_SHARE_HISTORY=0 or <c>share_history: false</c> turns it off). The default is true.
    /// </summary>
    public bool ShareHistory { get; init; } = true;

    public string ConfigPath => Path.Combine(Home, "config.yaml");
    public string CommandsPath => Path.Combine(Home, "commands");
    public string HistoryPath => Path.Combine(Home, "history");
    public string LogsPath => Path.Combine(Home, "logs");
    public string QueuePath => Path.Combine(Home, "queue.db");
    public string ManifestCachePath => Path.Combine(Home, "cache", "manifests.json");

    /// <summary>Resolves the settings from flags (null when not given), the environment and the config file.</summary>
    public static IsaacSettings Resolve(string? homeFlag = null, string? deviceFlag = null, string? hubFlag = null)
    {
        var home = Path.GetFullPath(homeFlag ?? Env("ISAAC_HOME")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".isaac"));
        var file = ConfigFile.Read(Path.Combine(home, "config.yaml"));
        return new IsaacSettings
        {
            Home = home,
            Device = DeviceSetting(deviceFlag, Env("ISAAC_DEVICE"), file.Device, Path.Combine(home, "config.yaml")),
            Hub = hubFlag ?? Env("ISAAC_HUB") ?? file.Hub,
            Token = Env("ISAAC_TOKEN") ?? file.Token,
            ShareHistory = Env("ISAAC_SHARE_HISTORY") is { } share ? share is not ("0" or "false" or "no" or "off") : file.ShareHistory ?? true,
            Tiers = new TierPolicy
            {
                LocalMaxTier = file.Tiers?.LocalMax ?? TierPolicy.Default.LocalMaxTier,
                RemoteMaxTier = file.Tiers?.RemoteMax ?? TierPolicy.Default.RemoteMaxTier,
            },
            Connectivity = new ConnectivityOptions
            {
                OnlineProbeInterval = Seconds(file.Sync?.OnlineProbeSeconds) ?? ConnectivityOptions.Default.OnlineProbeInterval,
                OfflineProbeMin = Seconds(file.Sync?.OfflineProbeMinSeconds) ?? ConnectivityOptions.Default.OfflineProbeMin,
                OfflineProbeMax = Seconds(file.Sync?.OfflineProbeMaxSeconds) ?? ConnectivityOptions.Default.OfflineProbeMax,
            },
        };
    }

    // A name given by the user must follow the device-name rules (docs/hub.md); the host name only gives a default.
    private static string DeviceSetting(string? flag, string? environment, string? file, string configPath)
    {
        var (name, source) = flag is not null ? (flag, "--device") : environment is not null ? (environment, "ISAAC_DEVICE") : (file, $"{configPath}: device");
        if (name is null)
        {
            return DeviceName.FromHostName(Environment.MachineName);
        }

        return DeviceName.TryNormalize(name, out var device, out var problem) ? device : throw SettingsException.BadDevice(source, problem);
    }

    private static TimeSpan? Seconds(double? seconds) => seconds is { } value && value > 0 ? TimeSpan.FromSeconds(value) : null;

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;

    private sealed record ConfigFile
    {

        public string? Device { get; init; }
        public string? Hub { get; init; }
        public string? Token { get; init; }
        public bool? ShareHistory { get; init; }
        public TierSection? Tiers { get; init; }
        public SyncSection? Sync { get; init; }

        public static ConfigFile Read(string path)
        {
            if (!File.Exists(path))
            {
                return new ConfigFile();
            }

            try
            {
                var deserializer = new DeserializerBuilder()
                    .WithNamingConvention(UnderscoredNamingConvention.Instance)
                    .WithEnforceNullability()
                    .WithDuplicateKeyChecking()
                    .Build();
                return deserializer.Deserialize<ConfigFile?>(File.ReadAllText(path)) ?? new ConfigFile();
            }
            catch (YamlException ex)
            {
                throw SettingsException.BadConfig(path, ex);
            }
        }
    }

    private sealed record SyncSection
    {
        public double? OnlineProbeSeconds { get; init; }
        public double? OfflineProbeMinSeconds { get; init; }
        public double? OfflineProbeMaxSeconds { get; init; }
    }

    private sealed record TierSection
    {
        public int? LocalMax { get; init; }
        public int? RemoteMax { get; init; }
    }
}

/// <summary>A config file Isaac cannot use.</summary>
internal sealed class SettingsException : IsaacException
{
    private SettingsException(string message, Exception? inner = null) : base(message, inner)
    {
    }

    internal static SettingsException BadConfig(string path, YamlException ex) =>
        new($"{path}:{ex.Start.Line}:{ex.Start.Column}: {ex.Message}{(ex.InnerException is { } inner ? " " + inner.Message : "")} Fix or remove the file.", ex);

    internal static SettingsException BadDevice(string source, string problem) => new($"{source}: {problem}");
}
