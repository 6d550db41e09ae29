"""Orange Poland: following MMS sent through MMSONnet with the MMSDeliveryStatus API
(seed: orange-pl-mms-delivery-status.txt)."""
