namespace System.Runtime.CompilerServices
{
    /// <summary>Lets <c>init</c> accessors compile for netstandard2.0.</summary>
    internal static class IsExternalInit { }
}
