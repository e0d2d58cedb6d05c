# A record is imported by its RecordId (shown in the Alidns console and by DescribeDomainRecords).
terraform import sandbox_alicloud_dns_record.sandboxes 9000000000000001
