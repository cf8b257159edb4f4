using System.Text;
using CliWrap;

namespace Isaac.Core.Execution;

/// <summary>
/// A pipe target that keeps at most <c>limit</c> bytes. Past the limit it reports overflow once and keeps
/// draining into nothing, so a child blocked on a full pipe never looks like a hang.
/// </summary>
internal sealed class CappedBuffer(int limit, Action? onOverflow = null)
{
    private readonly MemoryStream _kept = new();

    public bool Overflowed { get; private set; }

    public PipeTarget Target => PipeTarget.Create(CopyAsync);

    public override string ToString() => Encoding.UTF8.GetString(_kept.GetBuffer(), 0, (int)_kept.Length);

    private async Task CopyAsync(Stream source, CancellationToken cancellationToken)
    {
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await source.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            var room = limit - (int)_kept.Length;
            if (room > 0)
            {
                _kept.Write(chunk, 0, Math.Min(room, read));
            }

            if (read > room && !Overflowed)
            {
                Overflowed = true;
                onOverflow?.Invoke();
            }
        }
    }
}
