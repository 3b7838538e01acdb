// The pipelines' registry (BentoDeliveryStatus) is process-wide: each test sees every pipeline alive, so the tests of
// this assembly run one at a time and dispose what they build.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
