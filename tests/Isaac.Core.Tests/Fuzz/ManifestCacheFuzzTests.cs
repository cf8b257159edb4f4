using CsCheck;
using Isaac.Core.Manifests;
using Isaac.Core.Tests.Support;

namespace Isaac.Core.Tests.Fuzz;

/// <summary>Issue 9, finding 4: any damage to the manifest cache (truncation, random bytes, huge length prefixes) is a cache miss, never a crash or a huge allocation.</summary>
[Collection(FuzzCollection.Name)]
public sealed class ManifestCacheFuzzTests : IDisposable
{
    private const int Seconds = 3;
    private const long MemoryLimit = 64L << 20;

    private readonly TempDir _dir = new();
    private readonly byte[] _valid;
    private readonly string _manifest;

    public ManifestCacheFuzzTests()
    {
        _dir.Write("ok/run.sh", "");
        _manifest = _dir.Write("ok/command.yaml", """
            version: "1.0"
            command: { name: ok }
            triggers: [{ pattern: "^ok$" }]
            arguments: [{ name: a }]
            runtime: { handler: run.sh, interpreter: sh }
            security: { env: [A, B] }
            """);
        var cache = ManifestCache.Open(_dir.Combine("seed.bin"));
        cache.Put(_manifest, FileStamp.Of(_manifest), new CommandManifest
        {
            Version = "1.0",
            Command = new CommandInfo { Name = "ok" },
            Triggers = [new TriggerSpec { Pattern = "^ok$" }],
            Arguments = [new ArgumentSpec { Name = "a" }],
            Runtime = new RuntimeSpec { Handler = "run.sh", Interpreter = "sh" },
            Security = new SecuritySpec { Env = ["A", "B"] },
        });
        cache.Save();
        _valid = File.ReadAllBytes(_dir.Combine("seed.bin"));
    }

    public void Dispose() => _dir.Dispose();

    private Gen<byte[]> Damaged => Gen.OneOf(
        // Truncated anywhere.
        Gen.Int[0, _valid.Length - 1].Select(length => _valid[..length]),
        // A few bytes overwritten, including the 0xFF runs that make length prefixes and counts huge.
        Gen.Select(Gen.Int[0, _valid.Length - 1], Gen.OneOf(Gen.Byte, Gen.Const((byte)0xFF), Gen.Const((byte)0x7F)).Array[1, 6], (at, bytes) =>
        {
            var copy = (byte[])_valid.Clone();
            bytes.AsSpan(0, Math.Min(bytes.Length, copy.Length - at)).CopyTo(copy.AsSpan(at));
            return copy;
        }),
        // Nothing of ours at all.
        Gen.Byte.Array[0, 2000]);

    [Fact]
    public void A_damaged_cache_file_is_a_miss_never_a_crash_or_a_huge_allocation()
    {
        // Arrange
        var file = _dir.Combine("fuzzed.bin");
        var stamp = FileStamp.Of(_manifest);
        Assert.NotNull(ManifestCache.Open(_dir.Combine("seed.bin")).TryGet(_manifest, stamp)); // the seed itself is a hit

        // Act and assert: one file at a time (they share a path), so on one thread.
        Damaged.Sample(bytes =>
        {
            File.WriteAllBytes(file, bytes);
            var before = GC.GetAllocatedBytesForCurrentThread();
            var cache = ManifestCache.Open(file);
            cache.TryGet(_manifest, stamp);
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < MemoryLimit, $"allocated {allocated:N0} bytes");
        }, iter: 100_000, time: Seconds, threads: 1);
    }

    [Theory]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x07 })] // a string length of 2 GiB with nothing after it
    [InlineData(new byte[] { 0x80 })] // a length prefix cut short
    [InlineData(new byte[0])]
    public void A_huge_or_broken_length_prefix_is_a_miss(byte[] bytes)
    {
        var file = _dir.Write("broken.bin", "");
        File.WriteAllBytes(file, bytes);

        var cache = ManifestCache.Open(file);

        Assert.Null(cache.TryGet(_manifest, FileStamp.Of(_manifest)));
    }

    [Fact]
    public void A_huge_item_count_inside_a_valid_header_is_a_miss_without_allocating_it()
    {
        // Arrange: the valid file with the trigger count (right after the command's strings) set to int.MaxValue.
        var damaged = (byte[])_valid.Clone();
        var at = Array.LastIndexOf(damaged, (byte)'^') - 1 - 2 - 4; // before the pattern: its length (1 byte), the prefix "/" (2), the count (4)
        Assert.Equal(1, BitConverter.ToInt32(damaged, at)); // one trigger: we found the count
        BitConverter.GetBytes(int.MaxValue).CopyTo(damaged, at);
        var file = _dir.Combine("count.bin");
        File.WriteAllBytes(file, damaged);
        var before = GC.GetAllocatedBytesForCurrentThread();

        // Act
        var cache = ManifestCache.Open(file);

        // Assert
        Assert.Null(cache.TryGet(_manifest, FileStamp.Of(_manifest)));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < MemoryLimit);
    }
}
