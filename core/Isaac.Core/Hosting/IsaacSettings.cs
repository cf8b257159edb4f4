using System.Text.RegularExpressions;
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

    /// <summary>The hub's address, or several separated by commas (hubs sharing one store). The default is none: every route queues.</summary>
    public string? Hub { get; init; }

    /// <summary><see cref="Hub"/> as addresses, in the order given: the agent moves to the next when its hub dies.</summary>
    public Uri[] Hubs => Hub is null ? [] : [.. Hub.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(a => new Uri(a))];

    /// <summary>For <c>isaac hub</c>: a PostgreSQL connection string to keep the hub's state in (config.yaml: <c>store</c>). The default is none: SQLite.</summary>
    public string? HubStore { get; init; }

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
        var configPath = Path.Combine(home, "config.yaml");
        var file = ConfigFile.Read(configPath);
        return new IsaacSettings
        {
            Home = home,
            Device = DeviceSetting(Pick(("--device", deviceFlag), ("ISAAC_DEVICE", Env("ISAAC_DEVICE")), ($"{configPath}: device", file.Device))),
            Hub = HubAddress(Pick(("--hub", hubFlag), ("ISAAC_HUB", Env("ISAAC_HUB")), (configPath, file.Hub))),
            Token = Env("ISAAC_TOKEN") ?? file.Token,
            HubStore = file.Store,
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

    /// <summary>
    /// Creates <paramref name="folder"/> if needed and checks this user can write in it, for the processes that
    /// must (the shell, the agent, the hub); throws a one-line <see cref="IsaacException"/> naming the folder and
    /// <paramref name="setting"/>, the setting that chose it, when it cannot be used.
    /// </summary>
    public static void EnsureWritable(string folder, string setting)
    {
        try
        {
            Directory.CreateDirectory(folder);
            using var probe = new FileStream(Path.Combine(folder, $".write-check-{Environment.ProcessId}"), FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw SettingsException.UnusableFolder(folder, setting, ex);
        }
    }

    // A flag wins over the environment, which wins over the file; the source names where a bad value came from.
    private static (string Source, string? Value) Pick((string Source, string? Value) flag, (string Source, string? Value) environment, (string Source, string? Value) file) =>
        flag.Value is not null ? flag : environment.Value is not null ? environment : file;

    // A name given by the user must follow the device-name rules (docs/hub.md); the host name only gives a default.
    private static string DeviceSetting((string Source, string? Value) device) =>
        device.Value is null ? DeviceName.FromHostName(Environment.MachineName)
        : DeviceName.TryNormalize(device.Value, out var name, out var problem) ? name
        : throw SettingsException.BadDevice(device.Source, problem);

    private static string? HubAddress((string Source, string? Value) hub) =>
        hub.Value is null || (hub.Value.Split(',', StringSplitOptions.TrimEntries) is var addresses && addresses.All(address =>
            Uri.TryCreate(address, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
            ? hub.Value
            : throw SettingsException.BadHub(hub.Source, hub.Value);

    private static TimeSpan? Seconds(double? seconds) => seconds is { } value && value > 0 ? TimeSpan.FromSeconds(value) : null;

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;

    private sealed record ConfigFile
    {

        public string? Device { get; init; }
        public string? Hub { get; init; }
        public string? Token { get; init; }
        public string? Store { get; init; }
        public bool? ShareHistory { get; init; }
        public TierSection? Tiers { get; init; }
        public SyncSection? Sync { get; init; }

        /// <summary>Largest config.yaml read; a real one is a few hundred bytes.</summary>
        private const int MaxBytes = 64 * 1024;

        public static ConfigFile Read(string path)
        {
            if (!File.Exists(path))
            {
                return new ConfigFile();
            }

            string text;
            try
            {
                using var file = File.OpenRead(path);
                if (file.Length > MaxBytes)
                {
                    throw SettingsException.TooLarge(path, file.Length, MaxBytes);
                }

                text = new StreamReader(file).ReadToEnd();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw SettingsException.Unreadable(path, ex);
            }

            return Parse(path, text);
        }

        // Apart from Read so that a start without a config.yaml never loads YamlDotNet (Read is compiled whole).
        private static ConfigFile Parse(string path, string text)
        {
            try
            {
                var deserializer = new DeserializerBuilder()
                    .WithNamingConvention(UnderscoredNamingConvention.Instance)
                    .WithEnforceNullability()
                    .WithDuplicateKeyChecking()
                    .Build();
                return deserializer.Deserialize<ConfigFile?>(text) ?? new ConfigFile();
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

/// <summary>A config file Isaac cannot use. Each message is one line: the file, where, why, and what to do.</summary>
internal sealed partial class SettingsException : IsaacException
{
    private SettingsException(string message, Exception? inner = null) : base(message, inner)
    {
    }

    internal static SettingsException BadConfig(string path, YamlException ex) =>
        new($"{path}:{ex.Start.Line}:{ex.Start.Column}: {Reason(ex)}. Fix or remove the file.", ex);

    internal static SettingsException BadDevice(string source, string problem) => new($"{source}: {problem}");

    internal static SettingsException UnusableFolder(string folder, string setting, Exception ex) =>
        new($"{folder}: Isaac cannot write here ({(ex is UnauthorizedAccessException ? "permission denied" : ex.Message.TrimEnd('.'))}). Set {setting} to a folder this user can write, or fix this one's permissions.", ex);

    internal static SettingsException BadHub(string source, string value) =>
        new($"{source}: the hub address '{value}' is not an http:// or https:// address such as http://127.0.0.1:5080.");

    internal static SettingsException TooLarge(string path, long bytes, int limit) =>
        new($"{path}: the config file has {bytes} bytes; it is limited to {limit}. Fix or remove the file.");

    internal static SettingsException Unreadable(string path, Exception ex) =>
        new($"{path}: the config file cannot be read ({ex.Message.TrimEnd('.')}). Fix its permissions or remove it.", ex);

    // YamlDotNet words its errors for programmers (CLR type names); say what the setting needs instead.
    private static string Reason(YamlException ex)
    {
        var message = ex.Message.TrimEnd('.');
        if (UnknownSetting().Match(message) is { Success: true } unknown)
        {
            return $"unknown setting '{unknown.Groups[1].Value}' (the settings are device, hub, token, share_history, tiers: local_max/remote_max, sync: online_probe_seconds/offline_probe_min_seconds/offline_probe_max_seconds)";
        }

        if (WrongNode().Match(message) is { Success: true } wrong)
        {
            return $"expected {Expected(wrong.Groups[1].Value)} here";
        }

        return ex.InnerException switch
        {
            OverflowException => "this number is out of range",
            FormatException format => $"this value is not valid here ({format.Message.TrimEnd('.')})",
            InvalidCastException cast when CastTarget().Match(cast.Message) is { Success: true } target => $"expected {Expected(target.Groups[1].Value)} here",
            { } inner => $"{message} ({inner.Message.TrimEnd('.')})",
            null => message,
        };
    }

    private static string Expected(string type) => type switch
    {
        _ when type.StartsWith("System.String", StringComparison.Ordinal) => "a single text value, not a list or a map",
        _ when type.StartsWith("System.Double", StringComparison.Ordinal) || type.Contains("[System.Double", StringComparison.Ordinal) => "a number",
        _ when type.Contains("Int32", StringComparison.Ordinal) => "a whole number",
        _ when type.Contains("Boolean", StringComparison.Ordinal) => "true or false",
        _ => "a map of settings",
    };

    [GeneratedRegex("^Property '([^']*)' not found on type")]
    private static partial Regex UnknownSetting();

    [GeneratedRegex(" to '([^']+)'")]
    private static partial Regex CastTarget();

    [GeneratedRegex("deserialize the node into type ([^ ,]+)")]
    private static partial Regex WrongNode();
}
