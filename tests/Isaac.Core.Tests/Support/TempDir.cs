namespace Isaac.Core.Tests.Support;

/// <summary>A fresh folder per test, removed afterwards.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "isaac-tests", Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public string Write(string relativePath, string content)
    {
        var full = Combine(relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return full;
    }

    public void Dispose()
    {
        // ISAAC_KEEP_TEST_DIRS=1 keeps every test's folder (databases, logs) for a post-mortem of a rare failure.
        if (Environment.GetEnvironmentVariable("ISAAC_KEEP_TEST_DIRS") == "1")
        {
            return;
        }

        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A killed child may still hold a file for a moment; the OS temp cleaner will finish.
        }
    }
}
