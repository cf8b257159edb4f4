namespace Isaac.Core.Manifests;

/// <summary>Identifies one version of a file cheaply: its size and last write time.</summary>
internal readonly record struct FileStamp(long Length, long LastWriteTicks)
{
    public static FileStamp Of(string path)
    {
        var info = new FileInfo(path);
        return info.Exists
            ? new FileStamp(info.Length, info.LastWriteTimeUtc.Ticks)
            : throw new FileNotFoundException($"'{path}' does not exist.", path);
    }
}

/// <summary>
/// Manifests that already passed validation, so that start-up can skip YAML parsing and schema validation
/// for unchanged files. The format is a small binary file rather than JSON because System.Text.Json's
/// first use costs ~30 ms of start-up (measured; docs/BENCHMARKS.md). Any problem with the file just
/// means validating again.
/// </summary>
// Classes rather than tuples of structs: generic code over reference types is precompiled (ReadyToRun),
// over a custom struct it is compiled at start-up.
internal sealed record CachedManifest(string Path, FileStamp Stamp, CommandManifest Manifest);

internal sealed partial class ManifestCache
{
    // Entries written by another build of Isaac.Core are ignored: its schema or defaults may differ.
    private static readonly Guid _build = typeof(ManifestCache).Assembly.ManifestModule.ModuleVersionId;

    /// <summary>Largest cache file read (16 MiB, some thousands of manifests); anything bigger is damage and ignored.</summary>
    public const int MaxBytes = 16 * 1024 * 1024;

    private readonly string _file;
    private readonly Dictionary<string, CachedManifest> _entries = new(StringComparer.Ordinal);
    private bool _dirty;

    private ManifestCache(string file, IEnumerable<CachedManifest> entries)
    {
        _file = file;
        foreach (var entry in entries)
        {
            _entries[entry.Path] = entry;
        }
    }

    public static ManifestCache Open(string file)
    {
        try
        {
            // Read whole and capped, so every length inside can be checked against what is really there.
            using var stream = File.OpenRead(file);
            var bytes = new byte[Math.Min(stream.Length, MaxBytes + 1)];
            stream.ReadExactly(bytes);
            if (bytes.Length > MaxBytes || stream.ReadByte() >= 0)
            {
                return new ManifestCache(file, []);
            }

            using var reader = new BinaryReader(new MemoryStream(bytes, writable: false));
            return new ManifestCache(file, Read(reader));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or ArgumentException or NotSupportedException)
        {
            // Missing, unreadable, truncated, damaged or from another build: a cache miss, never a crash.
            return new ManifestCache(file, []);
        }
    }

    public CommandManifest? TryGet(string path, FileStamp stamp) =>
        _entries.TryGetValue(path, out var entry) && entry.Stamp == stamp ? entry.Manifest : null;

    public void Put(string path, FileStamp stamp, CommandManifest manifest)
    {
        _entries[path] = new CachedManifest(path, stamp, manifest);
        _dirty = true;
    }

    /// <summary>Writes the cache if anything changed, atomically (several shells may share one ISAAC_HOME).</summary>
    public void Save()
    {
        if (!_dirty)
        {
            return;
        }

        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_file) ?? ".");
            var temporary = $"{_file}.{Environment.ProcessId}.tmp";
            using (var writer = new BinaryWriter(File.Create(temporary)))
            {
                Write(writer, _entries.Values.Where(e => File.Exists(e.Path)).ToArray());
            }

            File.Move(temporary, _file, overwrite: true);
            _dirty = false;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A read-only home only costs start-up time.
        }
    }
}
