namespace Isaac.Core.Manifests;

// The cache file: magic, build id, entry count, then per entry the path, the stamp and every manifest field in
// declaration order. A new manifest field needs a line in both methods below; the build id keeps old files out.
internal sealed partial class ManifestCache
{
    private const string Magic = "isaac-manifest-cache-4";

    private static List<CachedManifest> Read(BinaryReader reader)
    {
        if (reader.ReadString() != Magic || new Guid(reader.ReadBytes(16)) != _build)
        {
            return [];
        }

        var entries = new List<CachedManifest>();
        for (var count = reader.ReadInt32(); count > 0; count--)
        {
            var path = reader.ReadString();
            var stamp = new FileStamp(reader.ReadInt64(), reader.ReadInt64());
            var manifest = new CommandManifest
            {
                Version = reader.ReadString(),
                Command = new CommandInfo { Name = reader.ReadString(), Description = reader.ReadString(), Category = reader.ReadString() },
                Triggers = ReadArray(reader, r => new TriggerSpec { Prefix = r.ReadString(), Pattern = r.ReadString(), Capture = ReadOptional(r) }),
                Arguments = ReadArray(reader, r => new ArgumentSpec { Name = r.ReadString(), Description = r.ReadString(), Required = r.ReadBoolean() }),
                Flags = reader.ReadBoolean() ? ReadArray(reader, r => new FlagSpec { Name = r.ReadString(), Description = r.ReadString() }) : null,
                Runtime = new RuntimeSpec
                {
                    Handler = reader.ReadString(),
                    Kind = ReadOptional(reader),
                    Interpreter = ReadOptional(reader),
                    Class = ReadOptional(reader),
                    TimeoutMs = reader.ReadInt32(),
                    Stdin = reader.ReadBoolean(),
                    Mode = ReadOptional(reader),
                    WakeCommand = ReadArray(reader, r => r.ReadString()),
                    Shell = reader.ReadBoolean(),
                    ConfirmTimeoutMs = reader.ReadInt32(),
                    ResultTimeoutMs = reader.ReadInt32(),
                    WakeRetryMs = ReadArray(reader, r => r.ReadInt32()),
                },
                Security = new SecuritySpec
                {
                    Tier = reader.ReadInt32(),
                    Env = ReadArray(reader, r => r.ReadString()),
                    Resources = new ResourceSpec { MaxStdoutKib = reader.ReadInt32(), MaxStderrKib = reader.ReadInt32() },
                },
                Queue = new QueuePolicySpec
                {
                    Allowed = reader.ReadBoolean(),
                    TtlSeconds = reader.ReadBoolean() ? reader.ReadInt32() : null,
                    CoalesceKey = ReadOptional(reader),
                    Parallel = reader.ReadBoolean(),
                    Idempotent = reader.ReadBoolean(),
                },
            };
            entries.Add(new CachedManifest(path, stamp, manifest));
        }

        return entries;
    }

    private static void Write(BinaryWriter writer, IReadOnlyCollection<CachedManifest> entries)
    {
        writer.Write(Magic);
        writer.Write(_build.ToByteArray());
        writer.Write(entries.Count);
        foreach (var (path, stamp, m) in entries)
        {
            writer.Write(path);
            writer.Write(stamp.Length);
            writer.Write(stamp.LastWriteTicks);
            writer.Write(m.Version);
            writer.Write(m.Command.Name);
            writer.Write(m.Command.Description);
            writer.Write(m.Command.Category);
            WriteArray(writer, m.Triggers, (w, t) => { w.Write(t.Prefix); w.Write(t.Pattern); WriteOptional(w, t.Capture); });
            WriteArray(writer, m.Arguments, (w, a) => { w.Write(a.Name); w.Write(a.Description); w.Write(a.Required); });
            writer.Write(m.Flags is not null);
            if (m.Flags is { } flags)
            {
                WriteArray(writer, flags, (w, f) => { w.Write(f.Name); w.Write(f.Description); });
            }

            writer.Write(m.Runtime.Handler);
            WriteOptional(writer, m.Runtime.Kind);
            WriteOptional(writer, m.Runtime.Interpreter);
            WriteOptional(writer, m.Runtime.Class);
            writer.Write(m.Runtime.TimeoutMs);
            writer.Write(m.Runtime.Stdin);
            WriteOptional(writer, m.Runtime.Mode);
            WriteArray(writer, m.Runtime.WakeCommand, (w, a) => w.Write(a));
            writer.Write(m.Runtime.Shell);
            writer.Write(m.Runtime.ConfirmTimeoutMs);
            writer.Write(m.Runtime.ResultTimeoutMs);
            WriteArray(writer, m.Runtime.WakeRetryMs, (w, a) => w.Write(a));
            writer.Write(m.Security.Tier);
            WriteArray(writer, m.Security.Env, (w, e) => w.Write(e));
            writer.Write(m.Security.Resources.MaxStdoutKib);
            writer.Write(m.Security.Resources.MaxStderrKib);
            writer.Write(m.Queue.Allowed);
            writer.Write(m.Queue.TtlSeconds is not null);
            if (m.Queue.TtlSeconds is { } ttl)
            {
                writer.Write(ttl);
            }

            WriteOptional(writer, m.Queue.CoalesceKey);
            writer.Write(m.Queue.Parallel);
            writer.Write(m.Queue.Idempotent);
        }
    }

    private static T[] ReadArray<T>(BinaryReader reader, Func<BinaryReader, T> read)
    {
        // Every item takes at least a byte, so a count past the bytes left is damage (and no huge array is made).
        var count = reader.ReadInt32();
        if (count < 0 || count > reader.BaseStream.Length - reader.BaseStream.Position)
        {
            throw new FormatException($"the cache file claims {count} items where {reader.BaseStream.Length - reader.BaseStream.Position} bytes are left");
        }

        var items = new T[count];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = read(reader);
        }

        return items;
    }

    private static void WriteArray<T>(BinaryWriter writer, T[] items, Action<BinaryWriter, T> write)
    {
        writer.Write(items.Length);
        foreach (var item in items)
        {
            write(writer, item);
        }
    }

    private static string? ReadOptional(BinaryReader reader) => reader.ReadBoolean() ? reader.ReadString() : null;

    private static void WriteOptional(BinaryWriter writer, string? value)
    {
        writer.Write(value is not null);
        if (value is not null)
        {
            writer.Write(value);
        }
    }
}
